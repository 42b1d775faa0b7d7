"""What a student may see in feedback, and nothing more.

nbgrader's autograded notebook holds the *source* version of every test cell
(``OverwriteCells`` restores it so the hidden tests run), and its tracebacks
quote the failing lines. ``nbgrader generate_feedback`` would show both. The
course configuration (``autograder/nbgrader_config.py``) therefore adds two
small preprocessors to the feedback pipeline:

- :class:`ClearHiddenTestsFromFeedback` removes the hidden-test region of each
  test cell, exactly as ``generate_assignment`` did for the student version;
- :class:`ReduceTracebacks` replaces every traceback by its last line,
  ``ename: evalue``.

Then :func:`find_leaks` is the grader's own check on the finished HTML.
"""

from __future__ import annotations

import html
import re

from nbgrader import utils
from nbgrader.preprocessors import ClearHiddenTests, GetGrades, NbGraderPreprocessor
from traitlets import List

MIN_LEAK_LENGTH = 12  # shorter lines ("else:", "assert ok") say nothing about a test


# The HTML exporter configures display_data_priority on every preprocessor of
# its pipeline; nbgrader's GetGrades declares it configurable, so do ours.
_DISPLAY_PRIORITY = GetGrades.class_traits()["display_data_priority"].default_value


class ClearHiddenTestsFromFeedback(ClearHiddenTests):
    """nbgrader's ``ClearHiddenTests``, applied to the test cells only.

    Answer cells hold student code: a stray "BEGIN HIDDEN TESTS" there must not
    stop the feedback of that student (nbgrader's class would raise).
    """

    display_data_priority = List(_DISPLAY_PRIORITY, config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        if utils.is_grade(cell) and not utils.is_solution(cell):
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
    """The one line a student sees for an error output: ``ename: evalue``."""
    evalue = str(output.get("evalue", "")).strip()
    return f"{output.get('ename', 'Error')}: {evalue}" if evalue else str(output.get("ename", "Error"))


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
        shown = (f"not graded yet, up to {float(points):g}" if grade_id in manual
                 else f"Score: {float(got):g} / {float(points):g}")
        note = (f' <strong class="grader-remark">Note from the grader: {html.escape(remarks[grade_id])}</strong>'
                if remarks.get(grade_id) else "")
        return f'<a href="#{grade_id}">{kind} <code>{grade_id}</code></a> ({shown}){note}'

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
    """A plain feedback page, for a notebook nbgrader could not grade."""
    autograded = [q for q in questions if q["score"] != ""]
    rows = "\n".join(
        "<tr><td>{}</td><td>{}</td><td>{}</td></tr>".format(
            html.escape(q["grade_id"]),
            html.escape(f"{q['score']} / {q['max_score']}" if q["score"] != "" else f"- / {q['max_score']}"),
            html.escape(q["message"]),
        )
        for q in questions
    )
    return NOTICE.format(
        title=html.escape(title),
        score=sum(float(q["score"]) for q in autograded),
        max_score=sum(float(q["max_score"]) for q in autograded),
        reason=html.escape(reason),
        rows=rows,
    )
