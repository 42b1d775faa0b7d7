"""Feedback maths as text: what a student reads offline instead of raw LaTeX."""

import json

import nbformat
import pytest
from support import REPO as ROOT

from autograder.math_text import MathToText, markdown_math_to_html, tex_to_text


@pytest.mark.parametrize("tex, text", [
    (r"\left\lfloor \frac{H + 2p - K_h}{s} \right\rfloor + 1", "⌊(H + 2p - K_h)/s⌋+ 1"),
    (r"\frac{\partial L}{\partial x}", "∂L/∂x"),
    (r"5\times5", "5×5"),
    (r"k\,w \le \theta < (k+1)\,w", "k w ≤θ< (k+1) w"),
    (r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}", "[ 1 2; 3 4]"),
])
def test_formulas_of_the_assignments_read_as_text(tex, text):
    assert tex_to_text(tex) == text


def test_broken_latex_still_gives_text():
    assert "\\" not in tex_to_text(r"\frac{a}{")


def test_markdown_keeps_escaped_dollars_and_code_spans_text():
    out = markdown_math_to_html(r"costs \$5, and $x_{\text{pad}}$ is padded; $$OH = \frac{H - K}{s} + 1$$")
    assert r"\$5" in out
    assert "x&#95;pad" in out and "(H - K)/s + 1" in out
    assert "display:block" in out and "\\frac" not in out


def test_every_formula_of_every_assignment_becomes_backslash_free():
    for path in sorted(ROOT.glob("assignments/*/*.ipynb")):
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "markdown" and "$" in "".join(cell["source"]):
                html = markdown_math_to_html("".join(cell["source"]))
                # what is left of the LaTeX commands after conversion: none
                assert "\\frac" not in html and "\\left" not in html and "\\theta" not in html, path


def test_preprocessor_changes_markdown_cells_only():
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(r"$\theta \in [0, 180)$"),
        nbformat.v4.new_code_cell('price = "$5 $6"'),
    ])
    nb, _ = MathToText().preprocess(nb, {})
    assert "θ" in nb.cells[0].source and "$" not in nb.cells[0].source
    assert nb.cells[1].source == 'price = "$5 $6"'
