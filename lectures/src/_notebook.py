"""Tiny helpers for the lecture builders: each ``NN_topic.py`` here writes ``../NN_topic.ipynb``.

Run ``python lectures/src/06_hog_features.py`` (etc.) after editing a builder;
the notebooks are written without outputs.
"""
from __future__ import annotations

import pathlib
import textwrap

import nbformat

LECTURES = pathlib.Path(__file__).resolve().parents[1]

# LECTURES.md: the first code cell of every lecture, word for word.
SETUP = '''\
# Setup: in JupyterLab cnnlib is already installed; in Google Colab this cell installs it.
# Instructors: point COURSE_GIT_URL at the course's repository.
COURSE_GIT_URL = "git+https://github.com/OWNER/cnn-course"
import importlib.util, sys
if importlib.util.find_spec("cnnlib") is None:
    %pip install --quiet "cnnlib-course[course] @ {COURSE_GIT_URL}"
if "google.colab" in sys.modules:
    from google.colab import output
    output.enable_custom_widget_manager()
%matplotlib inline'''


def md(text):
    return nbformat.v4.new_markdown_cell(textwrap.dedent(text).strip())


def code(text):
    return nbformat.v4.new_code_cell(textwrap.dedent(text).strip())


def answer(text):
    """An exercise answer, hidden in a collapsible block."""
    body = textwrap.dedent(text).strip()
    return md(f"<details><summary>Answer</summary>\n\n{body}\n\n</details>")


def write(name, cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = list(cells)
    for k, cell in enumerate(nb.cells):
        cell["id"] = f"{name[:2]}-{k:02d}"   # stable ids: rebuilding gives the same file
    nbformat.validate(nb)
    path = LECTURES / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path
