"""lectures/SYLLABUS.md: every reference in the deck-by-deck table exists.

For each row: the lecture notebook exists (or, while it is being written, its
builder ``lectures/src/<lecture>.py``), the section is one of its headings word
for word, the widget is called in that lecture, and every graded
``assignment/grade_id`` is a points-carrying nbgrader cell of that assignment's
notebook. A row marked "not covered" must give its reason.
"""
import json
import re
from functools import cache

import pytest
from support import REPO

SYLLABUS = REPO / "lectures" / "SYLLABUS.md"
DECKS = {"000", "001", "002", "003", "004"}
NONE = "—"
HEADING = re.compile(r"^\s*#{1,6}\s+(.+?)\s*$")
ROW = re.compile(r"^\|\s*(\d+)\s*\|")


def syllabus_rows():
    rows = []
    in_table = False
    for line_number, line in enumerate(SYLLABUS.read_text(encoding="utf-8").splitlines(), 1):
        in_table = in_table or line.startswith("| # |")      # the topic table; the deck table comes first
        if not (in_table and ROW.match(line)):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        assert len(cells) == 7, f"SYLLABUS.md line {line_number}: expected 7 columns, got {len(cells)}: {line}"
        number, decks, topic, lecture, section, widget, graded = cells
        rows.append({"line": line_number, "number": int(number), "decks": decks, "topic": topic,
                     "lecture": lecture, "section": section, "widget": widget, "graded": graded})
    return rows


ROWS = syllabus_rows()


def row_id(row):
    return f"{row['number']:02d}-{row['lecture']}"


@cache
def lecture_text(lecture):
    """(headings, code) of a lecture: from its notebook, or from its builder while it is being written."""
    notebook = REPO / "lectures" / f"{lecture}.ipynb"
    builder = REPO / "lectures" / "src" / f"{lecture}.py"
    if notebook.exists():
        cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
        headings = {m.group(1) for c in cells if c["cell_type"] == "markdown"
                    for line in "".join(c["source"]).splitlines() if (m := HEADING.match(line))}
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        return headings, code
    if builder.exists():
        text = builder.read_text(encoding="utf-8")
        return {m.group(1) for line in text.splitlines() if (m := HEADING.match(line))}, text
    return None


@cache
def graded_ids(assignment):
    path = REPO / "assignments" / assignment / f"{assignment}.ipynb"
    if not path.exists():
        return None
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return {c["metadata"]["nbgrader"]["grade_id"] for c in cells
            if c.get("metadata", {}).get("nbgrader", {}).get("grade")}


def test_table_is_numbered_and_large_enough():
    assert len(ROWS) >= 60, f"SYLLABUS.md lists {len(ROWS)} topics; the five decks have at least 60"
    assert [r["number"] for r in ROWS] == list(range(1, len(ROWS) + 1)), "rows must be numbered 1, 2, 3, ..."
    for row in ROWS:
        decks = {d.strip() for d in row["decks"].split(",")}
        assert decks <= DECKS, f"row {row['number']}: unknown deck in {row['decks']!r}; decks are {sorted(DECKS)}"
        assert row["topic"], f"row {row['number']} has no topic"


@pytest.mark.parametrize("row", ROWS, ids=row_id)
def test_row_references_exist(row):
    where = f"SYLLABUS.md row {row['number']} (line {row['line']})"
    if row["lecture"] == "not covered":
        assert len(row["section"]) > 20, f"{where}: 'not covered' needs the reason in the section column"
        assert row["widget"] == NONE and row["graded"] == NONE, f"{where}: a topic not covered has no widget or grade"
        return
    found = lecture_text(row["lecture"])
    assert found is not None, (f"{where}: neither lectures/{row['lecture']}.ipynb nor "
                               f"lectures/src/{row['lecture']}.py exists")
    headings, code = found
    assert row["section"] in headings, (f"{where}: no heading {row['section']!r} in {row['lecture']}; "
                                        f"its headings are {sorted(headings)}")
    if row["widget"] != NONE:
        for name in (w.strip() for w in row["widget"].split(",")):
            assert re.search(rf"\b{re.escape(name)}\(", code), f"{where}: {row['lecture']} never calls {name}()"
    if row["graded"] != NONE:
        for ref in (g.strip() for g in row["graded"].split(",")):
            assignment, _, grade_id = ref.partition("/")
            ids = graded_ids(assignment)
            assert ids is not None, f"{where}: no notebook assignments/{assignment}/{assignment}.ipynb"
            assert grade_id in ids, (f"{where}: {assignment} has no graded cell {grade_id!r}; "
                                     f"its graded cells are {sorted(ids)}")


LECTURE_FILE = re.compile(r"^(\d\d)_[a-z0-9_]+$")


def test_lectures_are_numbered_in_teaching_order():
    """lectures/NN_topic.ipynb for NN = 01, 02, ... without gaps, each built by lectures/src/NN_topic.py;
    its title says "Lecture N", its numbered sections are N.1, N.2, ..., and the README lists it Nth."""
    notebooks = sorted(p.stem for p in (REPO / "lectures").glob("*.ipynb"))
    sources = sorted(p.stem for p in (REPO / "lectures" / "src").glob("[0-9]*.py"))
    assert notebooks == sources, f"notebooks {notebooks} and their builders {sources} must pair up"
    assert all(LECTURE_FILE.match(name) for name in notebooks), notebooks
    assert [int(name[:2]) for name in notebooks] == list(range(1, len(notebooks) + 1)), notebooks
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for number, name in enumerate(notebooks, 1):
        cells = json.loads((REPO / "lectures" / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]
        headings = [m.group(0).strip() for c in cells if c["cell_type"] == "markdown"
                    for line in "".join(c["source"]).splitlines() if (m := HEADING.match(line))]
        assert headings[0].startswith(f"# Lecture {number}: "), f"{name}: its title is {headings[0]!r}"
        numbered = [h for h in headings if re.match(r"#+ \d", h)]
        assert numbered and all(re.match(rf"#+ {number}\.\d", h) for h in numbered), (
            f"{name}: sections must be numbered {number}.1, {number}.2, ...: {numbered}")
        assert re.search(rf"^{number}\. \[[^\]]+\]\([^)]*/lectures/{name}\.ipynb\)", readme, re.MULTILINE), (
            f"README.md's lecture list should show {name}.ipynb as item {number}, with its Colab link")
