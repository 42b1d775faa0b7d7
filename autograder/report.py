"""The instructor's class report: ``OUT/report.html``, one self-contained page.

``write_report(OUT)`` reads what a grading run left in ``OUT`` and writes the
page; ``grade``, ``demo`` and a Dask run all call it once their results are
written. It reads two files only:

- ``OUT/results.json`` (:func:`autograder.grading.results_data`): scores,
  messages and seconds of every student;
- ``OUT/run.json`` (``autograder.runs.write_run_info``): the isolation and
  limits of the run (``demo`` writes one for all assignments, in ``OUT``'s parent).

The page, top to bottom: the score histogram; each question's pass rate (full
marks, partial, zero, manual); the likely mistakes and the most frequent
failure messages, with how many students had each; every limit a submission
hit (as its messages name it); the slowest submissions; the isolation used.
Figures are matplotlib PNGs inside the page (no file next to it, no script).

Every student-controlled string (ids, messages) is HTML-escaped, and the page's
Content-Security-Policy allows no script at all. Long tables stop at a few
rows and say how many more there are, so the page stays readable for a class
of hundreds.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

REPORT_NAME = "report.html"
SHOWN_MESSAGES = 15  # failure-message groups listed; the rest are counted
SHOWN_MISTAKES = 20  # likely-mistake groups listed
SHOWN_LIMIT_ROWS = 50  # (student, limit) rows listed
SHOWN_SLOWEST = 10  # slowest submissions listed
SHOWN_STUDENTS = 5  # student ids in one table cell before "and N more"
SHOWN_MESSAGE_CHARS = 600  # characters of an example message (questions.csv has the whole)
LIMIT_MESSAGE_CHARS = 200  # characters of the message beside a limit hit
ONE_BAR_PER_POINT = 40  # up to this maximum score the histogram has a bar per point

COLOURS = {"full": "#1b9e77", "partial": "#e6ab02", "zero": "#d95f02", "manual": "#9e9e9e"}

# Limits a submission can hit, as its messages name them (autograder.execute, .checker,
# .sandbox, .intake and .grading write these words); label -> pattern.
LIMITS = {
    "cell time limit": r"\bCellTimeoutError\b",
    "notebook time limit": r"\bNotebookTimeoutError\b|grading was stopped: the notebook ran longer",
    "memory limit": r"\bMemoryError\b[^;]*\bmemory limit\b",
    "disk limit": r"\bDiskLimitError\b",
    "process limit": r"\bProcessLimitError\b",
    "output limit": r"\bOutputLimitError\b",
    "kernel died": r"\bKernelDied\b|\bStudentKernelDied\b|the Python kernel died while running the notebook",
    "kernel unresponsive": r"\bKernelUnresponsive\b",
    "value too large to pass": r"your code returned a value the grader cannot take",
    "submission refused at intake": (r"\.ipynb cannot be graded: |\bno \S+\.ipynb in the submission\b|"
                                     r"(^|; )not copied: |the submission folder "),
    "grader failed": r"the grader failed on this submission",
}
_LIMITS = {label: re.compile(pattern) for label, pattern in LIMITS.items()}

# a mistake's text ends its line; only "answer cell ... itself failed" parts follow it (grading.question)
_LIKELY = re.compile(r"likely mistake: (.*?)(?= \| |; answer cell '|$)")
_STUDENT_TEXT = re.compile(r"\(raised in your code\):? .*?(?=; |$)")  # the text of a student's own exception
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_PATH = re.compile(r"(?<![\w.])(?:/[\w.\-]+){2,}/?")
_HEX = re.compile(r"\b0x[0-9a-fA-F]+\b")
_NUMBER = re.compile(r"(?<![A-Za-z_])[+-]?(?:\d[\d,_]*(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


# --- reading and summarising ------------------------------------------------------

@dataclass
class Group:
    """Students who share one (normalised) message on one question."""

    grade_id: str
    text: str  # the message as one student got it (the most common wording)
    students: list[str] = field(default_factory=list)


@dataclass
class Summary:
    assignment: str
    students: list[dict]
    max_score: float
    scores: list[float]
    bins: list[tuple[float, float, int]]  # (low, high, students): low <= score < high
    questions: list[dict]  # grade_id, max_score, full, partial, zero, manual
    mistakes: list[Group]
    messages: list[Group]
    limits: list[tuple[str, str, list[str], str]]  # (student, limit, grade_ids, what the first message said)
    slowest: list[dict]


def message_key(message: str, student_id: str = "", names: frozenset[str] = frozenset()) -> str:
    """A message with what differs from student to student taken out, so that one mistake
    groups together: the student's own id, their exceptions' texts, file paths, addresses,
    numbers (``#``) and quoted text (``'…'``, except the assignment's own names)."""
    text = _PATH.sub("<path>", message)
    text = _HEX.sub("<address>", text)
    if len(student_id) >= 3:  # a short id ("a") would also match inside ordinary words
        text = text.replace(student_id, "<student>")
    text = _STUDENT_TEXT.sub("(raised in your code) …", text)
    text = _QUOTED.sub(lambda m: m.group(0) if m.group(0)[1:-1] in names else "'…'", text)
    text = _NUMBER.sub("#", text)
    return " ".join(text.split())


def _part(message: str, pattern: re.Pattern) -> str:
    """The part of a message (grading joins parts with "; ") that names a limit, cut short."""
    part = next((p for p in message.split("; ") if pattern.search(p)), message)
    return part if len(part) <= LIMIT_MESSAGE_CHARS else part[:LIMIT_MESSAGE_CHARS] + " …"


def histogram_bins(max_score: float) -> list[tuple[float, float]]:
    """Edges (low, high) of the score histogram: a bar per point up to
    :data:`ONE_BAR_PER_POINT` points (full marks a bar of their own), else 20 equal bars."""
    if max_score <= 0:
        return [(0.0, 1.0)]
    if max_score <= ONE_BAR_PER_POINT:
        return [(float(k), float(k + 1)) for k in range(int(math.floor(max_score)) + 1)]
    width = max_score / 20
    return [(k * width, (k + 1) * width) for k in range(19)] + [(19 * width, max_score + 1e-9)]


def summarise(results: dict) -> Summary:
    """Everything the page shows, computed from ``results.json``'s data."""
    students = results["students"]
    order: list[str] = []
    maxima: dict[str, float] = {}
    for student in students:
        for q in student["questions"]:
            if q["grade_id"] not in maxima:
                order.append(q["grade_id"])
                maxima[q["grade_id"]] = q["max_score"]
    names = frozenset(order)
    max_score = max((s["max_score"] for s in students), default=0.0)
    scores = [s["score"] for s in students]
    bins = [(low, high, sum(low <= score < high for score in scores)) for low, high in histogram_bins(max_score)]

    tally = {g: Counter() for g in order}
    mistakes: dict[tuple[str, str], Group] = {}
    messages: dict[tuple[str, str], Group] = {}
    wordings: dict[tuple[str, str], Counter] = defaultdict(Counter)
    hits: dict[tuple[str, str], list[str]] = {}
    said: dict[tuple[str, str], str] = {}
    for student in students:
        sid = student["student_id"]
        for q in student["questions"]:
            grade_id, score, message = q["grade_id"], q["score"], q["message"] or ""
            kind = ("manual" if score is None else "full" if score >= q["max_score"] else
                    "zero" if score <= 0 else "partial")
            tally[grade_id][kind] += 1
            for label, pattern in _LIMITS.items():
                if pattern.search(message):
                    hits.setdefault((sid, label), []).append(grade_id)
                    said.setdefault((sid, label), _part(message, pattern))
            if kind not in ("partial", "zero") or not message:
                continue
            key = (grade_id, message_key(message, sid, names))
            group = messages.setdefault(key, Group(grade_id, ""))
            if sid not in group.students:
                group.students.append(sid)
            wordings[key][message] += 1
            for likely in dict.fromkeys(_LIKELY.findall(message)):
                mkey = (grade_id, message_key(likely, sid, names))
                group = mistakes.setdefault(mkey, Group(grade_id, likely))
                if sid not in group.students:
                    group.students.append(sid)
    for key, group in messages.items():
        group.text = wordings[key].most_common(1)[0][0]
    position = {g: i for i, g in enumerate(order)}

    def ranked(groups):
        return sorted(groups, key=lambda g: (-len(g.students), position[g.grade_id], g.text))

    labels = list(LIMITS)
    limits = sorted(((sid, label, grade_ids, said[sid, label]) for (sid, label), grade_ids in hits.items()),
                    key=lambda row: (labels.index(row[1]), row[0]))
    slowest = sorted(students, key=lambda s: -s.get("seconds", 0.0))[:SHOWN_SLOWEST]
    questions = [{"grade_id": g, "max_score": maxima[g], **{k: tally[g][k] for k in COLOURS}} for g in order]
    return Summary(results.get("assignment", ""), students, max_score, scores, bins, questions,
                   ranked(mistakes.values()), ranked(messages.values()), limits, slowest)


# --- figures ----------------------------------------------------------------------

def _png(figure) -> str:
    """A matplotlib figure as an <img> with the PNG inside (the page stays one file)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="" style="max-width:100%;height:auto">'


def score_figure(summary: Summary) -> str:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.5, 3.2))
    ax = figure.add_subplot()
    per_point = summary.max_score <= ONE_BAR_PER_POINT
    lows = [low for low, _, _ in summary.bins]
    widths = [high - low for low, high, _ in summary.bins]
    counts = [n for _, _, n in summary.bins]
    ax.bar(lows, counts, width=[0.8 * w for w in widths], align="center" if per_point else "edge",
           color="#4c72b0")
    if summary.scores:
        mean = statistics.fmean(summary.scores)
        ax.axvline(mean, color="#333333", linestyle="--", linewidth=1)
        ax.text(mean, 1.0, f" mean {mean:.1f}", fontsize=8, va="top", transform=ax.get_xaxis_transform())
    ax.set_xlabel(f"autograded score (of {summary.max_score:g})")
    ax.set_ylabel("students")
    ax.set_ylim(0, max(counts + [1]) * 1.2)  # room for the mean's label above the bars
    ax.yaxis.get_major_locator().set_params(integer=True)
    if per_point:
        step = 1 if summary.max_score <= 20 else 2
        ax.set_xticks(range(0, int(summary.max_score) + 1, step))
    ax.spines[["top", "right"]].set_visible(False)
    return _png(figure)


def question_figure(summary: Summary) -> str:
    from matplotlib.figure import Figure

    questions = summary.questions
    figure = Figure(figsize=(7.5, 0.8 + 0.28 * len(questions)))
    ax = figure.add_subplot()
    n = max(len(summary.students), 1)
    rows = range(len(questions))
    left = [0.0] * len(questions)
    for kind, colour in COLOURS.items():
        share = [100 * q[kind] / n for q in questions]
        ax.barh(rows, share, left=left, color=colour, label=kind, height=0.7)
        left = [a + b for a, b in zip(left, share)]
    ax.set_yticks(list(rows), [q["grade_id"] for q in questions], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of students")
    ax.legend(ncol=4, fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(figure)


def seconds_figure(summary: Summary) -> str:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.5, 2.6))
    ax = figure.add_subplot()
    seconds = [s.get("seconds", 0.0) for s in summary.students]
    ax.hist(seconds, bins=min(30, max(len(seconds), 1)), color="#8172b2", edgecolor="white")  # bars apart
    ax.set_xlabel("seconds to grade one submission")
    ax.set_ylabel("students")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(figure)


# --- the page ---------------------------------------------------------------------

def e(value) -> str:
    """Text for HTML: every string a student controls goes through here."""
    return html.escape(str(value), quote=True)


def _students_cell(ids: list[str]) -> str:
    shown = ", ".join(f"<code>{e(sid)}</code>" for sid in ids[:SHOWN_STUDENTS])
    more = len(ids) - SHOWN_STUDENTS
    return shown + (f' <span class="more">and {more} more</span>' if more > 0 else "")


def _more_row(columns: int, left: int, what: str) -> str:
    if left <= 0:
        return ""
    return f'<tr class="more"><td colspan="{columns}">and {left} more {what}</td></tr>'


def _short(text: str) -> str:
    if len(text) <= SHOWN_MESSAGE_CHARS:
        return text
    return text[:SHOWN_MESSAGE_CHARS] + f" … ({len(text) - SHOWN_MESSAGE_CHARS:,} more characters in questions.csv)"


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "–"


def _bytes(n) -> str:
    if not n:
        return "unlimited"
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:g} {unit}"
    return f"{n} B"


def histogram_section(summary: Summary) -> str:
    n = len(summary.scores)
    full = sum(score >= summary.max_score for score in summary.scores) if summary.max_score else 0
    stats = (f"{n} students; mean {statistics.fmean(summary.scores):.2f}, median "
             f"{statistics.median(summary.scores):g} of {summary.max_score:g}; {full} with full marks, "
             f"{sum(score <= 0 for score in summary.scores)} with none") if n else "no students"
    rows = "".join(
        f'<tr class="bin" data-low="{low:g}" data-high="{high:g}" data-count="{count}">'
        f"<td>{_bin_label(low, high, summary)}</td><td>{count}</td></tr>"
        for low, high, count in summary.bins)
    return (f"<h2>Scores</h2><p>{e(stats)} (autograded points; manual questions not included).</p>"
            f"{score_figure(summary) if n else ''}"
            f'<details><summary>counts per bar</summary><table class="narrow" id="histogram">'
            f"<tr><th>score</th><th>students</th></tr>{rows}</table></details>")


def _bin_label(low: float, high: float, summary: Summary) -> str:
    if low >= summary.max_score:  # the full-marks bar
        return f"{low:g}"
    return f"{low:.3g} to &lt;{high:.3g}"


def questions_section(summary: Summary) -> str:
    n = len(summary.students)
    rows = []
    for q in summary.questions:
        cells = "".join(f'<td class="num">{q[k]} <span class="pc">({_percent(q[k], n)})</span></td>'
                        for k in COLOURS)
        rows.append(f'<tr class="question" data-question="{e(q["grade_id"])}" data-full="{q["full"]}" '
                    f'data-partial="{q["partial"]}" data-zero="{q["zero"]}" data-manual="{q["manual"]}">'
                    f'<td class="id"><code>{e(q["grade_id"])}</code></td>'
                    f'<td class="num">{q["max_score"]:g}</td>{cells}</tr>')
    return ("<h2>Questions</h2><p>Students per question with full marks, partial credit, no points, "
            "or waiting for manual grading.</p>" + (question_figure(summary) if summary.questions else "") +
            '<table id="questions"><tr><th>question</th><th>points</th><th>full marks</th><th>partial</th>'
            f'<th>zero</th><th>manual</th></tr>{"".join(rows)}</table>')


def mistakes_section(summary: Summary) -> str:
    rows = "".join(
        f'<tr class="mistake" data-question="{e(g.grade_id)}" data-count="{len(g.students)}">'
        f'<td class="num">{len(g.students)}</td><td class="id"><code>{e(g.grade_id)}</code></td>'
        f'<td>{e(_short(g.text))}</td><td class="who">{_students_cell(g.students)}</td></tr>'
        for g in summary.mistakes[:SHOWN_MISTAKES])
    left = len(summary.mistakes) - SHOWN_MISTAKES
    body = (f'<table id="mistakes"><tr><th>students</th><th>question</th><th>likely mistake</th><th>who</th></tr>'
            f"{rows}{_more_row(4, left, 'likely mistakes')}</table>") if summary.mistakes else \
        "<p>No failed test named a likely mistake.</p>"
    return ("<h2>Likely mistakes</h2><p>As the failed tests name them (\u201clikely mistake: \u2026\u201d); "
            "one row per question and mistake.</p>" + body)


def messages_section(summary: Summary) -> str:
    rows = "".join(
        f'<tr class="message" data-question="{e(g.grade_id)}" data-count="{len(g.students)}">'
        f'<td class="num">{len(g.students)}</td><td class="id"><code>{e(g.grade_id)}</code></td>'
        # a message's lines were joined with " | " (grading.one_line): one per line again
        f'<td class="msg">{e(_short(g.text)).replace(" | ", "<br>")}</td>'
        f'<td class="who">{_students_cell(g.students)}</td></tr>'
        for g in summary.messages[:SHOWN_MESSAGES])
    rest = summary.messages[SHOWN_MESSAGES:]
    more = _more_row(4, len(rest), f"kinds of message ({sum(len(g.students) for g in rest)} student answers; "
                                   "all in questions.csv)")
    body = (f'<table id="messages"><tr><th>students</th><th>question</th><th>message (one example)</th>'
            f"<th>who</th></tr>{rows}{more}</table>") if summary.messages else "<p>No test failed.</p>"
    return ("<h2>Most frequent failure messages</h2><p>Messages of tests that did not give full marks, grouped "
            "after numbers, quoted text, paths and the students' own names and exception texts are taken out.</p>"
            + body)


def limits_section(summary: Summary) -> str:
    if not summary.limits:
        return "<h2>Limits hit</h2><p>No submission hit a limit or was refused.</p>"
    counts = Counter(row[1] for row in summary.limits)
    overview = "".join(f'<tr class="limit-count" data-limit="{e(label)}" data-count="{counts[label]}">'
                       f'<td>{e(label)}</td><td class="num">{counts[label]}</td></tr>'
                       for label in LIMITS if counts[label])
    n_questions = len(summary.questions)
    rows = []
    for sid, label, grade_ids, message in summary.limits[:SHOWN_LIMIT_ROWS]:
        which = (f"all {n_questions} questions" if len(set(grade_ids)) == n_questions > 1 else
                 ", ".join(f'<code class="q">{e(g)}</code>' for g in dict.fromkeys(grade_ids)))
        rows.append(f'<tr class="limit" data-limit="{e(label)}"><td class="id">{e(label)}</td>'
                    f'<td class="who"><code>{e(sid)}</code></td><td>{which}</td><td class="msg">{e(message)}</td></tr>')
    more = _more_row(4, len(summary.limits) - SHOWN_LIMIT_ROWS, "(student, limit) pairs")
    return ("<h2>Limits hit</h2><p>Time-outs, memory, disk, processes, output, kernels that died or hung, "
            "and submissions refused at intake, as the students' messages name them.</p>"
            f'<table class="narrow" id="limit-counts"><tr><th>limit</th><th>students</th></tr>{overview}</table>'
            f'<table id="limits"><tr><th>limit</th><th>student</th><th>questions</th><th>message (the first)</th></tr>'
            f'{"".join(rows)}{more}'
            "</table>")


def slowest_section(summary: Summary) -> str:
    if not summary.students:
        return ""
    seconds = [s.get("seconds", 0.0) for s in summary.students]
    rows = "".join(
        f'<tr class="slow"><td><code>{e(s["student_id"])}</code></td>'
        f'<td class="num">{s.get("seconds", 0.0):.1f}</td><td class="num">{s.get("code_seconds", 0.0):.1f}</td>'
        f'<td class="num">{s["score"]:g}/{s["max_score"]:g}</td></tr>'
        for s in summary.slowest)
    return (f"<h2>Slowest submissions</h2><p>Grading took {statistics.median(seconds):.1f} s per submission "
            f"(median), {sum(seconds) / 60:.1f} min of worker time in all.</p>{seconds_figure(summary)}"
            '<table class="narrow" id="slowest"><tr><th>student</th><th>seconds</th><th>of which cells ran</th>'
            f"<th>score</th></tr>{rows}</table>")


def isolation_section(info: dict | None, source: str) -> str:
    if info is None:
        return "<h2>Isolation</h2><p>No run.json was found: the isolation of this run is not known.</p>"
    mode = str(info.get("mode", "?"))
    warning = ('<p class="warning">No sandbox: student code ran with the grader\'s rights.</p>'
               if mode == "none" else "")
    processes = info.get("process_limit")
    rows = [
        ("mode", mode + (" (--unsafe-no-sandbox)" if info.get("unsafe_no_sandbox") else "")),
        ("memory per kernel", f"{_bytes(info.get('memory_limit_bytes'))} ({info.get('memory_enforcement', '?')})"),
        ("disk per kernel", f"{_bytes(info.get('disk_limit_bytes'))} ({info.get('disk_enforcement', '?')})"),
        ("processes and threads", f"{processes or 'unlimited'} ({info.get('process_enforcement', '?')})"),
        ("CPU time per process", f"{info.get('cpu_limit_seconds') or 'unlimited'} s "
                                 f"({info.get('cpu_enforcement', '?')})"),
        ("time per cell", f"{info.get('cell_timeout_seconds', '?')} s"),
        ("time per notebook", f"{info.get('notebook_timeout_seconds', '?')} s"),
        ("network", info.get("network", "?")),
        ("workers", info.get("workers", "?")),
        ("versions", ", ".join(f"{k} {v}" for k, v in (info.get("versions") or {}).items())),
        ("platform", info.get("platform", "?")),
    ]
    body = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in rows)
    return (f"<h2>Isolation</h2>{warning}<p>Student code ran like this (from <code>{e(source)}</code>).</p>"
            f'<table id="isolation">{body}</table>')


STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;
color:#222;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;margin:.6em 0;font-size:.9em}table.narrow{width:auto}
th,td{border:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f4f4f4;white-space:nowrap}td.num{text-align:right;white-space:nowrap}.pc{color:#777}
td.id,code.q{white-space:nowrap;overflow-wrap:normal}td.who{min-width:12em;width:28%;font-size:.9em}
td.msg{font-family:ui-monospace,monospace;font-size:.9em}code{font-size:.95em}
tr.more td,.more{color:#666;font-style:italic}.warning{color:#a00;font-weight:bold}
.meta{color:#666}details summary{cursor:pointer;color:#444}
"""


def render(summary: Summary, info: dict | None, info_source: str) -> str:
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    title = f"Class report: {summary.assignment}"
    sections = [histogram_section(summary), questions_section(summary), mistakes_section(summary),
                messages_section(summary), limits_section(summary), slowest_section(summary),
                isolation_section(info, info_source)]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            # no script may run, whatever a student id or message holds; images only from the page itself
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
            "style-src 'unsafe-inline'\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{e(title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{e(title)}</h1><p class=\"meta\">{len(summary.students)} submissions; written {generated} from "
            "results.json (per-student rows: grades.csv, questions.csv; feedback: feedback/).</p>"
            + "".join(sections) + "</body></html>\n")


def read_run_info(out: Path) -> tuple[dict | None, str]:
    """OUT/run.json, else the one ``demo`` writes for all assignments in OUT's parent."""
    for path, shown in ((out / "run.json", "run.json"), (out.parent / "run.json", "../run.json")):
        if path.is_file():
            try:
                return json.loads(path.read_text(encoding="utf-8")), shown
            except (OSError, ValueError):
                continue
    return None, ""


def write_report(out: Path) -> Path:
    """Write ``OUT/report.html`` from ``OUT/results.json`` and ``OUT/run.json``; return its path."""
    out = Path(out)
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    info, source = read_run_info(out)
    target = out / REPORT_NAME
    target.write_text(render(summarise(results), info, source), encoding="utf-8")
    return target
