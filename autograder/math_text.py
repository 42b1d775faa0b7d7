"""Maths in feedback pages that reads without MathJax.

nbconvert's HTML leaves ``$...$`` and ``$$...$$`` for MathJax, which it loads
from a CDN. A student who opens the feedback file offline, or a grader machine
with no network, then sees raw LaTeX (``\\left\\lfloor \\frac{H + 2p - K_h}{s}``).
:class:`MathToText` rewrites the maths of every markdown cell into plain
Unicode text (``⌊(H + 2p - K_h)/s⌋``) before the page is written, so the page
is the same everywhere. Code cells are left alone: ``$`` in Python is not maths.
"""

from __future__ import annotations

import functools
import html
import re

from nbgrader.preprocessors import GetGrades, NbGraderPreprocessor
from traitlets import List

# $$display$$ first, then $inline$; a dollar escaped as \$ is text, not maths.
MATH = re.compile(r"(?<!\\)\$\$(?P<display>.+?)(?<!\\)\$\$|(?<![\\$])\$(?P<inline>[^$]+?)(?<!\\)\$", re.S)

# Characters markdown would still interpret inside our HTML (emphasis, links, code).
_MARKDOWN_ESCAPES = {"_": "&#95;", "*": "&#42;", "[": "&#91;", "]": "&#93;", "`": "&#96;", "\\": "&#92;"}


@functools.lru_cache(maxsize=1)
def _converter():
    from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

    def fraction(node, l2tobj):
        numerator, denominator = (l2tobj.nodelist_to_text([arg]).strip() for arg in node.nodeargd.argnlist[:2])
        return f"{_group(numerator)}/{_group(denominator)}"

    context = get_default_latex_context_db()
    context.add_context_category(
        "course-fractions", prepend=True,
        macros=[MacroTextSpec(name, simplify_repl=fraction) for name in ("frac", "dfrac", "tfrac")],
    )
    return LatexNodes2Text(latex_context=context, math_mode="text")


def _group(text: str) -> str:
    """Parenthesise a numerator or denominator that is more than one symbol."""
    return f"({text})" if re.search(r"[\s+\-−,]", text) else text


def tex_to_text(tex: str) -> str:
    """Plain Unicode for one LaTeX formula, e.g. ``\\frac{a+b}{c}`` -> ``(a+b)/c``.

    Unparsable input comes back as it was typed, minus the backslashes of its
    commands, never as an exception: feedback must always be written.
    """
    try:
        text = _converter().latex_to_text(tex)
    except Exception:  # a student's broken LaTeX must not stop their feedback
        text = re.sub(r"\\([A-Za-z]+)", r"\1", tex)
    text = re.sub(r"[ \t]+", " ", text)
    return re.sub(r" ([⌋⌉)\]])", r"\1", text).strip()  # "s ⌋" -> "s⌋"


def markdown_math_to_html(source: str) -> str:
    """Replace every ``$...$`` / ``$$...$$`` of a markdown text by readable HTML."""

    def replace(match):
        display = match.group("display") is not None
        text = tex_to_text(match.group("display") if display else match.group("inline"))
        body = "".join(_MARKDOWN_ESCAPES.get(ch, ch) for ch in html.escape(text, quote=False))
        body = body.replace("\n", "<br>")
        if display:
            style = "display:block; text-align:center; margin:0.5em 0"
            return f'<span class="math-text" style="{style}"><em>{body}</em></span>'
        return f'<span class="math-text"><em>{body}</em></span>'

    return MATH.sub(replace, source)


class MathToText(NbGraderPreprocessor):
    """Feedback step: the maths of markdown cells as text (see the module docstring)."""

    display_data_priority = List(GetGrades.class_traits()["display_data_priority"].default_value, config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "markdown" and "$" in cell.source:
            cell.source = markdown_math_to_html(cell.source)
        return cell, resources
