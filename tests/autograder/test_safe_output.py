"""What the grader writes is safe to open and bounded in size, whatever a student sent.

- questions.csv / grades.csv: no cell a spreadsheet would run as a formula
  (OWASP's CSV-injection rule), numbers stay numbers, every cell capped;
- feedback and notice pages: every student-controlled string HTML-escaped, no
  student script or markup, one message at most 64 KiB, one page at most 2 MiB,
  each cut saying how much was left out (DESIGN.md, "Output").
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import nbformat
import pytest
from support import FIXTURES, REPO

from autograder.feedback import (
    MAX_FEEDBACK_BYTES,
    MAX_MESSAGE,
    MAX_OUTPUT_BYTES,
    LimitFeedbackPage,
    ReduceTracebacks,
    cut,
    error_message,
    name_questions,
    notice_html,
)
from autograder.grading import (
    MESSAGE_LENGTH,
    Batch,
    GradedCell,
    Options,
    Question,
    StudentResult,
    one_line,
    publish_feedback,
    question,
    read_assignment,
    spreadsheet_text,
    write_csvs,
)

SOURCE_DIR = FIXTURES / "assignments" / "tiny_functions"
HUGE = 50_000_000  # characters of a student's exception message
SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'


def read_rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


# --- cutting ------------------------------------------------------------------------

def test_cut_marks_how_much_was_left_out():
    assert cut("short") == "short"
    text = "a" * 100_000 + "THE END"
    shown = cut(text, 1000)
    assert len(shown.encode()) <= 1000 and shown.endswith("THE END")
    left_out = int(re.search(r"\[([\d,]+) characters left out\]", shown).group(1).replace(",", ""))
    assert left_out == len(text) - len(shown.split(" … ")[0]) - len(shown.split(" … ")[-1])
    wide = cut("é" * 100_000)  # two bytes a character: the limit is in bytes
    assert len(wide.encode()) <= MAX_MESSAGE and "characters left out" in wide


def test_a_50_mb_message_is_cut_everywhere():
    message = SCRIPT + "x" * HUGE + "likely mistake: off by one"
    output = {"output_type": "error", "ename": "ValueError", "evalue": message, "traceback": [message] * 3}
    line = error_message(output)
    assert len(line.encode()) <= MAX_MESSAGE and "characters left out" in line and line.endswith("off by one")
    csv_line = one_line(line)
    assert len(csv_line) <= MESSAGE_LENGTH + 100 and "characters left out" in csv_line
    assert one_line(message).endswith("off by one") and "characters left out" in one_line(message)
    cell = GradedCell("nb", "test_f", 2.0, True, ("f",))
    row = question("ann", cell, 0.0, None, ["n" * HUGE], {"test_f": line}, {"f": line})
    assert len(row.message.encode()) <= MAX_MESSAGE and "characters left out" in row.message


def test_one_line_keeps_short_messages_whole():
    assert one_line("AssertionError: f(1)\n  should be 2") == "AssertionError: f(1) | should be 2"
    long = "word " * 1000
    assert "[" in one_line(long) and "characters left out" in one_line(long)


# --- CSV ----------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
    ("+cmd", "'+cmd"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"),
    ("-1", "-1"), ("-0.5", "-0.5"), ("+3e2", "+3e2"), ("ann", "ann"), ("", ""),
])
def test_spreadsheet_text_follows_owasp(text, expected):
    assert spreadsheet_text(text) == expected


def test_csv_files_are_safe_to_open(tmp_path):
    student = "=cmd|' /C calc'!A0"
    messages = ["=1+1", "-1", "@SUM(1)", SCRIPT, "x" * 200_000]
    result = StudentResult(student, [Question(student, f"test_{i}", -1.0 if i == 0 else 0.5, 2.0, m)
                                     for i, m in enumerate(messages)])
    result.questions.append(Question(student, "essay", None, 1.0, "needs manual grading"))
    write_csvs(Batch("hw", tmp_path, tmp_path, [result, StudentResult("\ud800bad")]))
    grades = read_rows(tmp_path / "grades.csv")
    assert grades[1][0] == "'" + student and grades[1][1] == "1"  # -1 + 4 * 0.5
    assert grades[2][0] == "\\ud800bad"
    rows = read_rows(tmp_path / "questions.csv")[1:]
    assert [r[4] for r in rows[:4]] == ["'=1+1", "-1", "'@SUM(1)", SCRIPT]
    assert rows[0][2] == "-1" and rows[1][2] == "0.5" and rows[-1][2] == ""  # scores stay numbers
    assert len(rows[4][4].encode()) <= MAX_MESSAGE and "characters left out" in rows[4][4]
    assert all(r[0] == "'" + student for r in rows)


# --- HTML ---------------------------------------------------------------------------

def test_notice_page_escapes_student_strings():
    page = notice_html(f"hw / {SCRIPT}", f"reason {IMG}", [
        {"grade_id": f"test{IMG}", "score": "0", "max_score": "2", "message": f"ValueError: {SCRIPT} {IMG}"}])
    assert SCRIPT not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;" in page


def test_notice_page_stays_under_2_mib():
    questions = [{"grade_id": f"test_{i}", "score": "0", "max_score": "1", "message": '"<' * (HUGE // 40)}
                 for i in range(40)]
    page = notice_html("hw / nb", "x" * HUGE, questions)
    assert len(page.encode()) <= MAX_FEEDBACK_BYTES
    assert page.count("characters left out") == 41 and page.count("<tr>") == 41


def test_named_questions_and_remarks_are_escaped():
    page = ('<h4>hw (Score: 0.0 / 2.0)</h4>\n'
            '<li><a href="#test&lt;b&gt;">Test cell</a> (Score: 0.0 / 2.0)</li>')
    named = name_questions(page, 0.0, 2.0, set(), {"test<b>": f"{SCRIPT} {IMG} " + "y" * 200_000})
    assert SCRIPT not in named and "<img" not in named and "<b>" not in named
    assert "&lt;script&gt;" in named and "&quot;&gt;&lt;img" in named and "characters left out" in named
    assert '<code>test&lt;b&gt;</code>' in named


def hostile_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(f"my answer {SCRIPT} [x](javascript:alert(3)) {IMG}"),
        nbformat.v4.new_markdown_cell("**Instructions** stay markdown",
                                      metadata={"nbgrader": {"locked": True, "grade_id": "intro", "grade": False,
                                                             "solution": False}}),
        nbformat.v4.new_code_cell("boom()")])
    big = SCRIPT + "z" * HUGE
    nb.cells[2].outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="p" * HUGE),
        nbformat.v4.new_output("display_data", data={"text/html": SCRIPT, "application/javascript": "alert(4)",
                                                     "image/svg+xml": "<svg onload=alert(5)/>", "text/plain": "ok"}),
        nbformat.v4.new_output("error", ename=f"Evil{IMG}", evalue=big, traceback=[big, big, big]),
    ] + [nbformat.v4.new_output("stream", name="stdout", text="q" * 60_000) for _ in range(40)]
    return nb


def test_feedback_page_of_a_hostile_notebook_is_small_and_inert():
    from nbconvert import HTMLExporter
    from traitlets.config import Config

    nb, _ = ReduceTracebacks().preprocess(hostile_notebook(), {})
    nb, _ = LimitFeedbackPage().preprocess(nb, {})
    outputs = nb.cells[2].outputs
    assert sum(len(str(o)) for o in outputs) <= MAX_OUTPUT_BYTES + 20_000
    assert "left out" in outputs[-1]["text"]
    assert set(outputs[1]["data"]) == {"text/plain"}
    config = Config()
    config.HTMLExporter.template_name = "classic"
    body, _ = HTMLExporter(config=config).from_notebook_node(nb)
    assert len(body.encode()) <= MAX_FEEDBACK_BYTES
    for attack in (SCRIPT, "<img", "alert(4)", "<svg", 'href="javascript'):
        assert attack not in body, attack
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body  # the student's text is shown, as text
    assert "<strong>Instructions</strong>" in body  # the instructor's locked markdown is rendered


def test_publish_feedback_never_writes_more_than_2_mib(tmp_path):
    assignment = read_assignment(SOURCE_DIR)
    nb, student = assignment.notebooks[0], "ann"
    root, out = tmp_path / "course", tmp_path / "out"
    html_file = root / "feedback" / student / assignment.name / f"{nb}.html"
    html_file.parent.mkdir(parents=True)
    html_file.write_text("<html>" + "x" * (5 * MAX_FEEDBACK_BYTES) + "</html>")
    questions = [question(student, cell, 0.0, None, [], {cell.grade_id: f"E: {SCRIPT}" + "m" * HUGE}, {})
                 for cell in assignment.cells]
    page = publish_feedback(assignment, nb, root, student, out, None, questions, Options(log=lambda _: None))
    text = page.read_text()
    assert len(text.encode()) <= MAX_FEEDBACK_BYTES and "at most 2 MiB" in text
    assert SCRIPT not in text and "&lt;script&gt;" in text and "characters left out" in text



def course_feedback_step():
    """nbgrader's GenerateFeedback as the course configures it (autograder/nbgrader_config.py)."""
    from nbgrader.converters import GenerateFeedback
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(REPO / "autograder")).load_config()
    return GenerateFeedback(coursedir=CourseDirectory(config=config), config=config)


def test_the_feedback_export_equals_nbconverts_without_parsing_the_page_again():
    from bs4 import BeautifulSoup
    from nbconvert import HTMLExporter

    from autograder.feedback import NO_ALT, FeedbackExporter

    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("**Part 1** with <img src='x.png' alt='a kept description'>"),
        nbformat.v4.new_code_cell("plot()", outputs=[
            nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"}),
            nbformat.v4.new_output("stream", name="stdout", text="loss 0.25 < 1 & falling\n")]),
    ])
    step = course_feedback_step()
    assert step.exporter_class is FeedbackExporter  # every feedback page of the course
    grades = {"nbgrader": {"notebook": "demo", "score": 1, "max_score": 2, "late_penalty": 0}}  # GetGrades'
    ours, _ = step.exporter_class(parent=step, config=step.config).from_notebook_node(nb, dict(grades))
    theirs, _ = HTMLExporter(parent=step, config=step.config).from_notebook_node(nb, dict(grades))
    assert "jp-Cell-inputWrapper" not in theirs and "jp-OutputArea-output" not in theirs  # nothing to tab to
    page, reference = BeautifulSoup(ours, "html.parser"), BeautifulSoup(theirs, "html.parser")
    assert page.get_text() == reference.get_text() and "loss 0.25 < 1 & falling" in page.get_text()
    assert [img.get("alt") for img in page.find_all("img")] == [img.get("alt") for img in reference.find_all("img")] \
        == ["a kept description", NO_ALT]
    import nbconvert.exporters.html

    assert nbconvert.exporters.html.BeautifulSoup is BeautifulSoup  # put back


def test_feedback_templates_are_compiled_once_per_process_and_again_when_edited(monkeypatch, tmp_path):
    """Each generate_feedback makes a new exporter; the pages stay the same while Jinja
    compiles the templates only for the first one, and a template whose source changed
    is compiled again (CompiledTemplates)."""
    import jinja2

    from autograder.feedback import CompiledTemplates, FeedbackExporter

    compiled = []
    real = jinja2.Environment.compile

    def counting(self, source, name=None, filename=None, *args, **kwargs):
        compiled.append(name)
        return real(self, source, name, filename, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    monkeypatch.setattr("autograder.feedback.COMPILED", CompiledTemplates())
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1 < 2)", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="one is less than two\n")])])
    step = course_feedback_step()
    grades = {"nbgrader": {"notebook": "demo", "score": 1, "max_score": 2, "late_penalty": 0}}
    pages = []
    for _ in range(3):
        page, _ = FeedbackExporter(parent=step, config=step.config).from_notebook_node(nb, dict(grades))
        pages.append(page)
        if len(pages) == 1:
            first = len(compiled)
    assert first > 3 and len(compiled) == first  # the page's templates, then none
    assert pages[0] == pages[1] == pages[2] and "one is less than two" in pages[0]

    cache = CompiledTemplates()
    (tmp_path / "page.j2").write_text("old {{ x }}")
    render = lambda: jinja2.Environment(loader=jinja2.FileSystemLoader(tmp_path), bytecode_cache=cache,  # noqa: E731
                                        ).get_template("page.j2").render(x=1)
    assert render() == "old 1" and render() == "old 1"
    (tmp_path / "page.j2").write_text("new {{ x }}")
    assert render() == "new 1"
