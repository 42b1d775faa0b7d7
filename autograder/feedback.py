"""What a student may see in feedback, and nothing more.

nbgrader's autograded notebook holds the *source* version of every test cell
(``OverwriteCells`` restores it so the hidden tests run), and its tracebacks
quote the failing lines. ``nbgrader generate_feedback`` would show both. The
course configuration (``autograder/nbgrader_config.py``) therefore adds two
small preprocessors to the feedback pipeline:

- :class:`ClearHiddenTestsFromFeedback` removes the hidden-test region of each
  test cell, exactly as ``generate_assignment`` did for the student version;
- :class:`ReduceTracebacks` replaces every traceback by its last line,
  ``ename: evalue``;
- :class:`LimitFeedbackPage` keeps the page small and inert: one output text
  at most :data:`MAX_MESSAGE`, all outputs together at most
  :data:`MAX_OUTPUT_BYTES`, no HTML or script a student wrote.

:class:`FeedbackExporter` writes the page as nbconvert's ``HTMLExporter`` does,
without its second pass through BeautifulSoup (see the class).

Then :func:`find_leaks` is the grader's own check on the finished HTML. Every
message shown is cut with :func:`cut` (the cut says how much was left out), and
every string a student controls is HTML-escaped where the grader writes HTML.
"""

from __future__ import annotations

import html
import re
import threading

import nbconvert.exporters.html as nbconvert_html
from jinja2 import BytecodeCache
from nbconvert.exporters import HTMLExporter
from nbformat import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests, GetGrades, NbGraderPreprocessor
from traitlets import List

from autograder import cells
from autograder.wire import MAX_MESSAGE, cut  # noqa: F401 (part of this module's API)

MIN_LEAK_LENGTH = 12  # shorter lines ("else:", "assert ok") say nothing about a test
MAX_FEEDBACK_BYTES = 2 * 2**20  # bytes of one feedback page: DESIGN.md's "Output" limit
MAX_OUTPUT_BYTES = 2**20  # bytes of cell outputs on one page, leaving room for the page's own CSS and text
MAX_RICH_OUTPUT = 2**18  # bytes of one image or HTML output (a plot is tens of KiB); larger ones are left out
SHOWN_OUTPUTS = {"text/plain", "image/png", "image/jpeg", "image/gif"}  # output types that carry no markup
MAX_NAME = 1024  # bytes of an exception's class name (ename) in a message
SHORT = 200  # bytes of a name or a score on the notice page (grade ids and titles are short)


# The HTML exporter configures display_data_priority on every preprocessor of
# its pipeline; nbgrader's GetGrades declares it configurable, so do ours.
_DISPLAY_PRIORITY = GetGrades.class_traits()["display_data_priority"].default_value


NO_ALT = "No description has been provided for this image"  # the alt text HTMLExporter gives
IMG_WITHOUT_ALT = re.compile(r"<img(?![^>]*\salt=)")
_PATCH_LOCK = threading.Lock()


class _Unparsed(str):
    """Stands in for BeautifulSoup in HTMLExporter: the page as it is, and no element to select."""

    def __new__(cls, markup, features=None):
        return str.__new__(cls, markup)

    def select(self, selector):
        return []


class CompiledTemplates(BytecodeCache):
    """Jinja's compiled templates, kept for the life of the process.

    nbgrader makes a new exporter, hence a new Jinja environment, for every
    ``generate_feedback``, and each compiled the page's nine templates again.
    Jinja stores each template's source checksum with its code and compiles a
    template again when its source changed.
    """

    def __init__(self):
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


COMPILED = CompiledTemplates()


class FeedbackExporter(HTMLExporter):
    """nbconvert's HTML export for feedback pages, without parsing each page again,
    and with the templates compiled once per process (:class:`CompiledTemplates`).

    After rendering, ``HTMLExporter`` parses the whole page with BeautifulSoup to
    give images without one an alt text and JupyterLab-template cells a tab stop:
    0.33 of its 0.44 CPU s for a parameter_counting page. nbgrader's feedback
    template is the classic one, which has no such cells, so only the alt text is
    left to add, and a pattern adds the same one.
    """

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = COMPILED
        return environment

    def from_notebook_node(self, nb, resources=None, **kw):
        with _PATCH_LOCK:  # the module's name is shared: one page at a time (formgrader may use threads)
            parser = getattr(nbconvert_html, "BeautifulSoup", None)  # None: a release without that pass
            nbconvert_html.BeautifulSoup = _Unparsed
            try:
                page, resources = super().from_notebook_node(nb, resources, **kw)
            finally:
                if parser is None:
                    del nbconvert_html.BeautifulSoup
                else:
                    nbconvert_html.BeautifulSoup = parser
        return IMG_WITHOUT_ALT.sub(f'<img alt="{NO_ALT}"', str(page)), resources


class ClearHiddenTestsFromFeedback(ClearHiddenTests):
    """nbgrader's ``ClearHiddenTests``, applied to the test cells only.

    Answer cells hold student code: a stray "BEGIN HIDDEN TESTS" there must not
    stop the feedback of that student (nbgrader's class would raise).
    """

    display_data_priority = List(_DISPLAY_PRIORITY, config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        if cells.is_test(cell):
            return super().preprocess_cell(cell, resources, cell_index)
        return cell, resources


class ReduceTracebacks(NbGraderPreprocessor):
    """Keep only ``ename: evalue`` of every error output.

    A traceback through a hidden test quotes the hidden line that failed.
    """

    display_data_priority = List(_DISPLAY_PRIORITY, config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [error_message(output)]
        return cell, resources


def error_message(output) -> str:
    """The one line a student sees for an error output: ``ename: evalue`` (at most
    :data:`MAX_MESSAGE`, however long the student made either)."""
    ename = cut(str(output.get("ename", "Error")), MAX_NAME)
    evalue = cut(str(output.get("evalue", "")), MAX_MESSAGE).strip()
    return cut(f"{ename}: {evalue}" if evalue else ename)


class LimitFeedbackPage(NbGraderPreprocessor):
    """Keep a feedback page small and inert, whatever the student's cells hold.

    The page is opened by the student and by the instructor, so nothing a student
    wrote may become markup or script there: outputs keep only plain text and
    bitmap images (HTML, SVG, Markdown, JavaScript outputs are dropped), and a
    markdown cell that is not the instructor's (locked, restored by nbgrader) is
    shown as plain text. Each output text is cut to
    :data:`MAX_MESSAGE`, an image larger than :data:`MAX_RICH_OUTPUT` is left out (a cut
    one would be broken); once the page's outputs reach :data:`MAX_OUTPUT_BYTES` the
    rest are replaced by one line saying how many were left out.
    """

    display_data_priority = List(_DISPLAY_PRIORITY, config=True)

    def preprocess(self, nb, resources):
        self._used = 0
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.get("cell_type") == "markdown" and not (cells.is_locked(cell) and cells.grade_id(cell)):
            # nbgrader restored the instructor's locked cells; any other markdown a student may have written
            cell.source = as_plain_text(str(cell.source))
        if not isinstance(cell.get("outputs"), list):
            return cell, resources
        kept, dropped = [], 0
        for output in cell.outputs:
            size = self._limit(output)
            if self._used + size > MAX_OUTPUT_BYTES:
                dropped += 1
                continue
            self._used += size
            kept.append(output)
        if dropped:
            kept.append(NotebookNode(output_type="stream", name="stdout", text=(
                f"[grader] {dropped} output(s) of this cell left out: a feedback page shows at most "
                f"{MAX_OUTPUT_BYTES // 2**20} MiB of outputs\n")))
        cell.outputs = kept
        return cell, resources

    @staticmethod
    def _limit(output) -> int:
        """Cut the texts of one output in place; its size in bytes (roughly) afterwards."""
        size = 0
        for key in ("text", "evalue", "ename"):
            if key in output:
                output[key] = cut(output[key] if isinstance(output[key], str) else "".join(map(str, output[key])))
                size += len(output[key])
        if "traceback" in output:
            output["traceback"] = [error_message(output)]
            size += len(output["traceback"][0])
        data = output.get("data")
        if isinstance(data, dict):
            for mime in [m for m in data if m not in SHOWN_OUTPUTS]:
                del data[mime]
            for mime, value in list(data.items()):
                value = value if isinstance(value, str) else "".join(map(str, value)) if isinstance(value, list) \
                    else str(value)
                if mime != "text/plain" and len(value) > MAX_RICH_OUTPUT:
                    del data[mime]  # cut HTML, SVG or base64 would be broken; a text version stays if there is one
                    continue
                data[mime] = cut(value) if mime == "text/plain" else value
                size += len(data[mime])
            if not data:
                data["text/plain"] = "[grader] an output too large for the feedback page was left out"
        return size


def as_plain_text(source: str) -> str:
    """Markdown that shows ``source`` verbatim: a fenced block, its fence longer than any
    run of backticks inside (links, tags and entities in it are never rendered)."""
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", source)), default=0))
    return f"{fence}text\n{source}\n{fence}"


def region_lines(source: str, begin: str, end: str) -> tuple[list[str], list[str]]:
    """(inside, outside): the stripped, non-empty lines of one cell within and
    outside the regions delimited by lines containing ``begin`` and ``end``."""
    inside, outside, within = [], [], False
    for line in source.splitlines():
        if begin in line:
            within = True
        elif end in line:
            within = False
        elif line.strip():
            (inside if within else outside).append(line.strip())
    return inside, outside


def hidden_test_lines(source: str) -> list[str]:
    """The stripped lines between the hidden-test markers of one cell."""
    return region_lines(source, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")[0]


def solution_lines(source: str) -> list[str]:
    """The stripped lines between the solution markers of one cell."""
    return region_lines(source, "BEGIN SOLUTION", "END SOLUTION")[0]


def public_lines(notebook) -> set[str]:
    """Lines of a source notebook that students see anyway (outside hidden tests and solutions)."""
    public = set()
    for cell in notebook.cells:
        hidden, outside = region_lines(cell.source, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
        public.update(region_lines("\n".join(outside), "BEGIN SOLUTION", "END SOLUTION")[1])
    return public


def secret_lines(notebook, min_length: int = MIN_LEAK_LENGTH) -> list[str]:
    """Non-trivial hidden-test lines of a source notebook that students never see
    (not even inside a visible line), in cell order."""
    public, found = "\n".join(sorted(public_lines(notebook))), []
    for cell in notebook.cells:
        for line in hidden_test_lines(cell.source):
            if len(line) >= min_length and line not in public and line not in found:
                found.append(line)
    return found


def solution_only_lines(notebook, min_length: int = MIN_LEAK_LENGTH) -> list[str]:
    """Non-trivial solution lines of a source notebook that students never see."""
    public = "\n".join(sorted(public_lines(notebook)))
    return sorted({line for cell in notebook.cells for line in solution_lines(cell.source)
                   if len(line) >= min_length and line not in public})


def notebook_lines(notebook) -> set[str]:
    """Every stripped line of every cell (what a student wrote, for a submission)."""
    return {line.strip() for cell in notebook.cells for line in cell.source.splitlines() if line.strip()}


def find_leaks(text: str, secrets: list[str]) -> list[str]:
    """The secret lines that appear in ``text`` (plain, or HTML-escaped and highlighted).

    Syntax highlighting splits a line into ``<span>`` tokens, so the HTML is
    compared with its tags removed and entities unescaped.
    """
    plain = html.unescape(re.sub(r"<[^>]+>", "", text))
    return [line for line in secrets if line in text or line in plain]


SUMMARY_ITEM = re.compile(r'<a href="#([^"]+)">(Test cell|Coding free-response|Written response|Task)</a>'
                          r' \(Score: ([\d.]+) / ([\d.]+)\)')
HEADING = re.compile(r"<h4>(.*?) \(Score: [\d.]+ / [\d.]+\)</h4>")


def name_questions(page: str, score: float, max_score: float, manual: set[str],
                   remarks: dict[str, str] | None = None) -> str:
    """nbgrader's feedback page with every summary item named by its ``grade_id``, answers
    graded by hand shown as "not graded yet" (not as 0), the heading's score the
    automatic one (the same as grades.csv), and the grader's ``remarks`` on a question
    (e.g. a test cell the student changed) after its item."""
    remarks = remarks or {}

    def item(match):
        grade_id, kind, got, points = match.groups()
        grade_id = html.unescape(grade_id)  # as the page spelled it; escaped again below
        shown = (f"not graded yet, up to {float(points):g}" if grade_id in manual
                 else f"Score: {float(got):g} / {float(points):g}")
        note = (f' <strong class="grader-remark">Note from the grader: {html.escape(cut(remarks[grade_id]))}</strong>'
                if remarks.get(grade_id) else "")
        name = html.escape(grade_id)
        return f'<a href="#{name}">{kind} <code>{name}</code></a> ({shown}){note}'

    later = "; written answers are graded later" if manual else ""
    page = HEADING.sub(lambda m: f"<h4>{m.group(1)} (Score: {score:g} / {max_score:g}{later})</h4>", page, count=1)
    return SUMMARY_ITEM.sub(item, page)


NOTICE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Feedback: {title}</title></head>
<body style="font-family: sans-serif; max-width: 50em; margin: 2em auto">
<h1>Feedback: {title}</h1>
<p><strong>Score: {score:g} / {max_score:g}</strong></p>
<p>{reason}</p>
<table border="1" cellpadding="4" style="border-collapse: collapse">
<tr><th>question</th><th>score</th><th>message</th></tr>
{rows}
</table>
</body></html>
"""


def notice_html(title: str, reason: str, questions: list[dict]) -> str:
    """A plain feedback page, for a notebook nbgrader could not grade (at most
    :data:`MAX_FEEDBACK_BYTES`: each message is cut to its share of the page)."""
    autograded = [q for q in questions if q["score"] != ""]
    # escaping makes one byte up to 6 (&quot;); the page's frame, title and reason take at most 4 messages
    row_bytes = (MAX_FEEDBACK_BYTES - 4 * MAX_MESSAGE) // max(1, len(questions))
    share = max(64, min(MAX_MESSAGE, (row_bytes - 100) // 6 - 2 * SHORT))

    def text(value, limit=share):
        return html.escape(cut(str(value), limit))

    rows = "\n".join(
        "<tr><td>{}</td><td>{}</td><td>{}</td></tr>".format(
            text(q["grade_id"], SHORT),
            text(f"{q['score']} / {q['max_score']}" if q["score"] != "" else f"- / {q['max_score']}", SHORT),
            text(q["message"]),
        )
        for q in questions
    )
    return NOTICE.format(
        title=text(title, SHORT),
        score=sum(float(q["score"]) for q in autograded),
        max_score=sum(float(q["max_score"]) for q in autograded),
        reason=text(reason, MAX_MESSAGE // 6),
        rows=rows,
    )
