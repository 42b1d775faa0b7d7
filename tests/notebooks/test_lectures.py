"""Every lecture runs top to bottom in a fresh kernel with no error output (nbclient).

Failures name the cell and show its error; stderr output that carries a
traceback counts as an error too (a widget callback may print one there
without stopping the notebook).
"""
import os
import re
import time

import pytest
from support import REPO

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

LECTURES = sorted((REPO / "lectures").glob("[0-9][0-9]_*.ipynb"))

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

# LECTURES.md: well under two minutes on 2 cores; the limit per cell leaves room for a loaded machine
CELL_TIMEOUT = 600


def error_outputs(nb):
    """``(cell index, text)`` for every error output and every stderr traceback in ``nb``."""
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                found.append((index, f"{output.get('ename')}: {output.get('evalue')}"))
            elif output.get("output_type") == "stream" and output.get("name") == "stderr":
                text = output.get("text", "")
                if "Traceback" in text or re.search(r"^\w*Error: ", text, re.MULTILINE):
                    found.append((index, text[-2000:]))
    return found


def test_lectures_exist():
    names = [p.name for p in LECTURES]
    for expected in ("01_why_cnns.ipynb", "03_backprop.ipynb", "11_transfer_and_inside.ipynb"):
        assert expected in names, f"lectures/{expected} is missing; found {names}"


@pytest.mark.parametrize("path", LECTURES, ids=[p.stem for p in LECTURES])
def test_lecture_runs_clean(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code"), \
        f"{path.name} is committed with outputs; clear them"
    assert nb.cells[0].cell_type == "markdown" and "What you will learn" in nb.cells[0].source
    assert nb.cells[1].cell_type == "code" and "COURSE_GIT_URL" in nb.cells[1].source
    assert any("<details><summary>Answer</summary>" in c.source for c in nb.cells if c.cell_type == "markdown"), \
        f"{path.name} has no exercise answer in a collapsible <details> cell"
    # one BLAS thread per kernel: on a small shared machine threads fight each other (several times slower)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}}, allow_errors=True)
    start = time.perf_counter()
    client.execute(env=env)
    seconds = time.perf_counter() - start
    print(f"{path.name}: {seconds:.1f} s")
    errors = error_outputs(nb)
    assert not errors, f"{path.name} produced errors:\n" + "\n".join(f"cell {i}: {text}" for i, text in errors)
