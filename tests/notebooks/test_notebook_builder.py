"""course_tools.notebooks: one builder and one setup cell for every lecture and assignment.

The committed notebooks equal a fresh build byte for byte (``make notebooks`` rewrites
them), every notebook's first code cell starts with the shared setup cell, and the
sources import the builder as an installed package, without editing ``sys.path``.
"""
import subprocess
import sys

import nbformat
import pytest
from support import REPO

from course_tools import notebooks

SOURCES = notebooks.sources(REPO)


def test_every_notebook_has_a_source():
    built = {notebooks.target(source) for source in SOURCES}
    committed = set((REPO / "lectures").glob("*.ipynb")) | set((REPO / "assignments").glob("*/*.ipynb"))
    assert committed == built, f"notebooks without a source: {sorted(map(str, committed - built))}"
    lectures = [source for source in SOURCES if source.parent.name == "src"]
    assert len(lectures) >= 11 and len(SOURCES) - len(lectures) >= 4, SOURCES


@pytest.mark.parametrize("source", SOURCES, ids=[f"{s.parent.name}/{s.stem}" for s in SOURCES])
def test_committed_notebook_equals_a_fresh_build(source):
    assert not notebooks.out_of_date(source), f"{notebooks.target(source).relative_to(REPO)}: run make notebooks"


@pytest.mark.parametrize("source", SOURCES, ids=[f"{s.parent.name}/{s.stem}" for s in SOURCES])
def test_first_code_cell_is_the_shared_setup(source):
    nb = nbformat.read(notebooks.target(source), as_version=4)
    first = next(cell for cell in nb.cells if cell.cell_type == "code")
    assert first.source == notebooks.SETUP or first.source.startswith(notebooks.SETUP + "\n\n"), (
        f"{source.name}: the first code cell must begin with course_tools.notebooks.SETUP")


@pytest.mark.parametrize("source", SOURCES, ids=[f"{s.parent.name}/{s.stem}" for s in SOURCES])
def test_source_imports_the_builder_without_sys_path(source):
    text = source.read_text(encoding="utf-8")
    assert "from course_tools.notebooks import" in text and "sys.path" not in text, source


def test_one_command_checks_everything(capsys):
    """``python -m course_tools.notebooks --check`` (what ``make notebooks`` runs, without writing)."""
    assert notebooks.build_all(["--check"]) == 0
    assert f"{len(SOURCES)} notebook(s): up to date" in capsys.readouterr().out


def test_a_source_runs_alone_from_anywhere():
    """``python lectures/src/NN_topic.py --check`` finds the builder as an installed package."""
    run = subprocess.run([sys.executable, str(SOURCES[0]), "--check"], cwd="/", capture_output=True, text=True)
    assert run.returncode == 0 and "1 notebook(s): up to date" in run.stdout, run.stderr


def test_check_reports_a_stale_notebook(tmp_path, capsys):
    """A source whose notebook is missing or differs makes --check fail and names it; a build writes it."""
    source = tmp_path / "lectures" / "src" / "01_demo.py"
    source.parent.mkdir(parents=True)
    source.write_text("from course_tools.notebooks import SETUP, code, lecture_notebook, md\n\n"
                      "cells = [md('# Lecture 1: Demo'), code(SETUP)]\n\n\n"
                      "def build():\n    return lecture_notebook(__file__, cells)\n")
    assert notebooks.build_all(["--check", str(source)]) == 1
    assert "01_demo.ipynb" in capsys.readouterr().err
    assert notebooks.build_all([str(source)]) == 0
    nb = nbformat.read(tmp_path / "lectures" / "01_demo.ipynb", as_version=4)
    assert [cell.id for cell in nb.cells] == ["01-00", "01-01"] and nb.cells[1].source == notebooks.SETUP
    assert notebooks.build_all(["--check", str(source)]) == 0
