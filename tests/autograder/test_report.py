"""OUT/report.html: the instructor's class report (autograder/report.py).

Fast tests build results.json by hand (grouping, escaping, a class of 300).
The slow ones grade real sample submissions of ``parameter_counting`` once per
module with ``python -m autograder grade``, check the report's numbers against
grades.csv, questions.csv and results.json counted here, and open the page in
headless Chromium (Debian's, through Playwright): no script runs, no console
error, every figure loads; a full-page screenshot goes to
``tests/artifacts/screenshots/report.png``.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
from support import REPO, SCREENSHOTS

from autograder.report import (
    LIMITS,
    SHOWN_LIMIT_ROWS,
    SHOWN_MESSAGES,
    SHOWN_MISTAKES,
    SHOWN_STUDENTS,
    histogram_bins,
    message_key,
    write_report,
)

SAMPLES = REPO / "samples" / "parameter_counting"
# mistakes the report must group and count: two students share off_by_one's, two bias_forgotten's
GRADED = {"reference": "reference", "off_by_one": "off_by_one", "off_by_one_again": "off_by_one",
          "bias_forgotten": "bias_forgotten", "student-0042": "bias_forgotten", "stride_ignored": "stride_ignored",
          "infinite_loop": "infinite_loop", "syntax_error": "syntax_error", "untouched": "untouched"}
CELL_TIMEOUT = "10"  # s: infinite_loop hits the cell time limit sooner; the other cells need ~1 s
HOSTILE_ID = '<script>window.hacked=1</script><img src=x onerror="window.hacked=2">'
HOSTILE_MESSAGE = ('CheckFailure: f(1) | expected: 2 | got: \'</td></table><script>window.hacked=3</script>\' '
                   '| likely mistake: <b onmouseover="window.hacked=4">bold</b>')


class Page(HTMLParser):
    """The tags, attributes and text of a report, as a browser's parser sees them."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def rows(self, cls: str) -> list[dict]:
        return [attrs for tag, attrs in self.tags if tag == "tr" and cls in (attrs.get("class") or "").split()]


def student(sid: str, questions: list[tuple], seconds: float = 1.0) -> dict:
    """One student of results.json: questions are (grade_id, score, max_score, message)."""
    rows = [{"notebook": "nb", "grade_id": g, "score": s, "max_score": m, "message": msg} for g, s, m, msg in questions]
    auto = [r for r in rows if r["score"] is not None]
    return {"student_id": sid, "score": sum(r["score"] for r in auto), "max_score": sum(r["max_score"] for r in auto),
            "seconds": seconds, "code_seconds": seconds / 2, "questions": rows}


def report_of(tmp_path: Path, students: list[dict], run_info: dict | None = None) -> tuple[str, Page]:
    (tmp_path / "results.json").write_text(json.dumps({"assignment": "demo", "students": students}))
    if run_info is not None:
        (tmp_path / "run.json").write_text(json.dumps(run_info))
    text = write_report(tmp_path).read_text(encoding="utf-8")
    return text, Page(text)


# --- fast: hand-made results --------------------------------------------------------

def test_one_mistake_groups_together_whatever_the_numbers_and_names():
    names = frozenset({"test_f", "f"})
    a = message_key("CheckFailure: f(1, 32) | expected: 28 | got: 27 | likely mistake: the +1 is missing", "alice")
    b = message_key("CheckFailure: f(3, 7.5e-3) | expected: 4 | got: -1,024 | likely mistake: the +1 is missing", "bob")
    assert a == b
    assert message_key("CheckFailure: f(1) | expected: 2 | got: 1 | likely mistake: the biases are missing") != a
    # the student's own id, their exception's text, paths and addresses are not the mistake
    assert message_key("NameError: name 'helper_alice' is not defined", "alice") == \
        message_key("NameError: name 'my_fn' is not defined", "bob")
    raised = "ValueError: (raised in your code) {}; answer cell 'f' itself failed"
    assert message_key(raised.format("alice was here"), "alice", names) == message_key(raised.format("no"), "b", names)
    assert message_key("cannot open /home/alice/x.npy at 0x7f3a", "alice") == \
        message_key("cannot open /tmp/q/y.npy at 0x55aa", "bob")
    # the assignment's own names stay: they say which answer failed
    assert "'f'" in message_key("answer cell 'f' itself failed", "", names)


def test_histogram_has_a_bar_for_full_marks():
    assert histogram_bins(18) == [(k, k + 1) for k in range(19)]
    wide = histogram_bins(100)
    assert len(wide) == 20 and wide[0][0] == 0 and wide[-1][0] <= 100 < wide[-1][1]


def test_student_text_is_escaped_and_no_script_can_run(tmp_path):
    students = [
        student(HOSTILE_ID, [("test_f", 0.0, 2.0, HOSTILE_MESSAGE), ("answer", None, 1.0, "needs manual grading")]),
        student("plain", [("test_f", 2.0, 2.0, ""), ("answer", None, 1.0, "needs manual grading")], seconds=5.0),
    ]
    text, page = report_of(tmp_path, students, {"mode": "bwrap", "platform": '<script>x</script>'})
    assert [tag for tag, _ in page.tags if tag in ("script", "b", "iframe", "object")] == []
    assert not [attrs for _, attrs in page.tags if any(name.startswith("on") for name in attrs)]
    assert [attrs.get("src", "")[:22] for tag, attrs in page.tags if tag == "img"] == \
        ["data:image/png;base64,"] * 3
    for raw in ("<script>", "onerror=\"", "<b onmouseover", "</td></table><script"):
        assert raw not in text
    shown = "".join(page.text)
    assert HOSTILE_ID in shown and "window.hacked=3" in shown and "bold</b>" in shown
    csp = [a["content"] for t, a in page.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in csp[0] and "script-src" not in csp[0]


def test_a_class_of_300_gives_short_tables(tmp_path):
    students = []
    for i in range(300):
        # 30 different mistakes, every student a different wrong value, a limit for every 7th
        mistake = f"mistake {'ABCDEFGHIJKLMNOPQRSTUVWXYZabcd'[i % 30]}"
        message = f"CheckFailure: f({i}) | expected: 5 | got: {i} | likely mistake: {mistake}"
        if i % 7 == 0:
            message = "CellTimeoutError: cell exceeded the 30 s time limit"
        students.append(student(f"s{i:03d}", [("test_f", 0.0 if i % 3 else 1.0, 2.0, message),
                                              ("test_g", 1.0, 1.0, "")], seconds=float(i)))
    text, page = report_of(tmp_path, students)
    assert len(text) < 600_000
    assert len(page.rows("mistake")) == SHOWN_MISTAKES
    assert len(page.rows("message")) == SHOWN_MESSAGES
    limits = page.rows("limit")
    assert len(limits) == min(SHOWN_LIMIT_ROWS, 43)
    assert len(page.rows("slow")) == 10
    assert "and 10 more likely mistakes" in text
    # 43 time-outs: listed once per student, counted in the overview
    assert [r["data-count"] for r in page.rows("limit-count")] == ["43"]
    # the biggest group of a message lists a few ids, then says how many more
    biggest = max(int(r["data-count"]) for r in page.rows("message"))
    assert f"and {biggest - SHOWN_STUDENTS} more" in text
    counts = {r["data-question"]: r for r in page.rows("question")}
    assert counts["test_f"]["data-zero"] == str(sum(1 for i in range(300) if i % 3))
    assert counts["test_f"]["data-partial"] == str(sum(1 for i in range(300) if not i % 3))
    assert counts["test_g"]["data-full"] == "300"


def test_no_run_json_is_said(tmp_path):
    text, _ = report_of(tmp_path, [student("a", [("test_f", 1.0, 1.0, "")])])
    assert "No run.json was found" in text


def test_demo_run_json_is_read_from_the_parent(tmp_path):
    # demo writes one run.json in its OUT and each assignment's results in OUT/<assignment>/
    (tmp_path / "run.json").write_text(json.dumps({"mode": "none", "unsafe_no_sandbox": False, "process_limit": 64,
                                                   "process_enforcement": "not enforced"}))
    (tmp_path / "demo").mkdir()
    text, _ = report_of(tmp_path / "demo", [student("a", [("test_f", 1.0, 1.0, "")])])
    assert "../run.json" in text and "No sandbox" in text and "64 (not enforced)" in text


# --- slow: real submissions graded by the command line ------------------------------

@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """``python -m autograder grade parameter_counting`` on ten students: nine samples and a broken file."""
    from support import run_cli

    root = tmp_path_factory.mktemp("report")
    submissions = root / "submissions"
    for sid, sample in GRADED.items():
        shutil.copytree(SAMPLES / sample, submissions / sid)
    # refused at intake, before any kernel starts
    (submissions / "broken_notebook").mkdir()
    (submissions / "broken_notebook" / "parameter_counting.ipynb").write_text('{"cells": [')
    proc = run_cli("grade", "parameter_counting", submissions, "--out", root / "out", "--course", root / "course",
                   "--timeout", CELL_TIMEOUT, "--workers", 2, cwd=root)
    assert "class report: " in proc.stdout
    return root / "out"


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_report_counts_match_the_csvs(graded):
    text = (graded / "report.html").read_text(encoding="utf-8")
    page = Page(text)
    grades = {row["student_id"]: float(row["score"]) for row in read_csv(graded / "grades.csv")}
    assert set(grades) == set(GRADED) | {"broken_notebook"}
    bins = page.rows("bin")
    assert sum(int(b["data-count"]) for b in bins) == len(grades)
    for b in bins:
        low, high = float(b["data-low"]), float(b["data-high"])
        assert int(b["data-count"]) == sum(low <= s < high for s in grades.values()), b
    assert [b["data-count"] for b in bins if float(b["data-low"]) == 18] == ["1"]  # only reference: full marks

    rows = read_csv(graded / "questions.csv")
    expected = {}
    for row in rows:
        kind = ("manual" if row["score"] == "" else "full" if float(row["score"]) == float(row["max_score"]) else
                "zero" if float(row["score"]) == 0 else "partial")
        expected.setdefault(row["grade_id"], Counter())[kind] += 1
    shown = {r["data-question"]: r for r in page.rows("question")}
    assert list(shown) == list(expected)
    for grade_id, counter in expected.items():
        for kind in ("full", "partial", "zero", "manual"):
            assert int(shown[grade_id][f"data-{kind}"]) == counter[kind], (grade_id, kind)

    # the likely mistakes, counted here from the messages
    mistakes = Counter()
    for row in rows:
        for mistake in set(re.findall(r"likely mistake: ([^|;]*)", row["message"])):
            mistakes[row["grade_id"], mistake.split(":")[0].strip()] += 1
    top = page.rows("mistake")[0]
    assert (top["data-question"], int(top["data-count"])) in {(g, n) for (g, _), n in mistakes.items()}
    assert int(top["data-count"]) == max(mistakes.values()) == 2
    assert mistakes["test_conv_output_shape", "the +1 is missing"] == 2
    assert mistakes["test_conv_param_count", "the biases are missing"] == 2
    listed = {(r["data-question"], r["data-count"]) for r in page.rows("mistake")}
    assert {("test_conv_output_shape", "2"), ("test_conv_param_count", "2")} <= listed
    # every message group counts students who failed that question, and all of them together
    failed = Counter(r["grade_id"] for r in rows if r["score"] not in ("",) and
                     float(r["score"]) < float(r["max_score"]) and r["message"])
    groups = Counter()
    for r in page.rows("message"):
        groups[r["data-question"]] += int(r["data-count"])
    assert all(groups[g] <= failed[g] for g in groups)
    left = re.search(r"and (\d+) more kinds of message \((\d+) student answers", text)
    assert sum(groups.values()) + (int(left[2]) if left else 0) == sum(failed.values())
    assert len(page.rows("message")) == SHOWN_MESSAGES
    # the two copies of off_by_one got the same message: one group of two
    off_by_one = [r for r in rows if r["student_id"] == "off_by_one" and r["grade_id"] == "test_conv_output_shape"]
    group = [r for r in page.rows("message") if r["data-question"] == "test_conv_output_shape"
             and int(r["data-count"]) == 2]
    assert off_by_one[0]["message"] and len(group) == 1


@pytest.mark.slow
def test_report_lists_limits_slowest_and_isolation(graded):
    text = (graded / "report.html").read_text(encoding="utf-8")
    page = Page(text)
    limits = [(r["data-limit"]) for r in page.rows("limit")]
    assert "cell time limit" in limits and set(limits) <= set(LIMITS)
    rows = {re.search(r"<code>([^<]*)</code>", row)[1]: row for row in text.split("<tr")[1:]
            if row.startswith(' class="limit"')}
    assert set(rows) == {"infinite_loop", "broken_notebook"}
    assert 'data-limit="cell time limit"' in rows["infinite_loop"]
    assert ">test_conv_output_shape</code></td>" in rows["infinite_loop"]
    assert "CellTimeoutError: cell exceeded the 10 s time limit" in rows["infinite_loop"]
    assert 'data-limit="submission refused at intake"' in rows["broken_notebook"]
    assert "all 14 questions" in rows["broken_notebook"] and "not valid JSON" in rows["broken_notebook"]
    results = json.loads((graded / "results.json").read_text())
    slowest = sorted(results["students"], key=lambda s: -s["seconds"])[0]
    first = re.search(r'<tr class="slow"><td><code>([^<]*)</code></td><td class="num">([\d.]+)', text)
    assert first.groups() == (slowest["student_id"], f"{slowest['seconds']:.1f}")
    run = json.loads((graded / "run.json").read_text())
    isolation = text[text.index('id="isolation"'):]
    assert f"<td>{run['mode']}" in isolation and run["process_enforcement"] in isolation


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_report_in_a_browser(graded, tmp_path):
    from jupyterlab_browser import find_chromium, launch_chromium

    executable = find_chromium()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium not found (CI must run the browser tests; .ci/run installs chromium)")
        pytest.skip("Chromium not found (apt-get install chromium, or set CNNLIB_CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api")
    hostile = tmp_path / "hostile"
    hostile.mkdir()
    report_of(hostile, [student(HOSTILE_ID, [("test_f", 0.0, 2.0, HOSTILE_MESSAGE)]),
                        student("plain", [("test_f", 2.0, 2.0, "")])])
    playwright = sync_api.sync_playwright().start()
    context = launch_chromium(playwright, executable, tmp_path / "profile")
    try:
        for report, screenshot in ((graded / "report.html", SCREENSHOTS / "report.png"),
                                   (hostile / "report.html", None)):
            page = context.new_page()
            problems = []
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in
                    ("error", "warning") else None)
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.goto(report.as_uri())
            page.wait_for_load_state("load")
            images = page.eval_on_selector_all("img", "els => els.map(e => [e.complete, e.naturalWidth])")
            assert images and all(done and width > 100 for done, width in images), images
            assert page.evaluate("() => window.hacked === undefined && document.scripts.length === 0")
            assert problems == []
            if screenshot is not None:
                assert page.locator("#questions tr.question").count() == 14
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot), full_page=True)
            page.close()
    finally:
        context.close()
        playwright.stop()
