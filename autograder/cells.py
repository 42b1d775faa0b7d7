"""What an nbgrader cell is, read from its metadata, and the names answer cells define.

One home for these questions, used by the grader's steps: a *test* cell
(graded code, not a solution), an *answer* cell (a solution cell), a
*setup* cell (the instructor's cell with ``grade_id`` ``setup`` or marked for
the checker, which runs in both kernels), a cell's ``grade_id``, and the names an answer cell of the
instructor's source defines (the names the checker takes from the student).
"""

from __future__ import annotations

import ast

SETUP_ID = "setup"  # grade_id of the instructor's setup cell (imports and test helpers)
HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"


def nbgrader_meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def grade_id(cell) -> str | None:
    value = nbgrader_meta(cell).get("grade_id")
    return value if isinstance(value, str) else None


def is_test(cell) -> bool:
    """A graded code cell that is not a solution: nbgrader's autograder tests."""
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def is_answer(cell) -> bool:
    return cell.get("cell_type") == "code" and bool(nbgrader_meta(cell).get("solution"))


def is_setup(cell) -> bool:
    """An instructor's cell that the checker runs too: the ``setup`` cell, or a cell marked
    ``"autograder": {"checker": true}`` (e.g. one that loads data the tests use)."""
    meta = cell.get("metadata", {}).get("autograder", {})
    marked = isinstance(meta, dict) and meta.get("checker") is True
    return cell.get("cell_type") == "code" and (grade_id(cell) == SETUP_ID or marked)


def time_limit(cell) -> float | None:
    """The cell's own time limit in seconds, ``"autograder": {"timeout": S}`` (None: the course's).
    It can only shorten the course's cell limit, never lengthen it."""
    meta = cell.get("metadata", {}).get("autograder", {})
    value = meta.get("timeout") if isinstance(meta, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        return None
    return float(value)


def is_locked(cell) -> bool:
    return bool(nbgrader_meta(cell).get("locked"))


def used_names(source: str) -> set[str]:
    """Every name a cell reads (a superset is fine: it only keeps a cell out of the checker)."""
    try:
        tree = ast.parse(_without_magics(source))
    except SyntaxError:
        return set()
    return {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}


def checker_cells(notebook) -> list:
    """The instructor's cells the checker runs before the tests, in order: the setup cell, cells
    marked for the checker, and every other read-only cell that is neither a test nor an answer
    and reads no name that only the student's kernel has (an answer, or what a cell using one
    defines: a training run and the plots of its history stay with the student)."""
    student_only = {name for names in answer_names(notebook).values() for name in names}
    chosen = []
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code" or is_test(cell) or is_answer(cell):
            continue
        source = cell.get("source", "")
        if is_setup(cell) or (is_locked(cell) and not used_names(source) & student_only):
            chosen.append(cell)
        else:
            student_only |= set(defined_names(source)) | _imported_names(source)
    return chosen


def _imported_names(source: str) -> set[str]:
    try:
        tree = ast.parse(_without_magics(source))
    except SyntaxError:
        return set()
    return {(alias.asname or alias.name).split(".")[0] for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}


def defined_names(source: str) -> list[str]:
    """Top-level functions, classes and assigned names of a cell (imports are not answers)."""
    try:
        tree = ast.parse(_without_magics(source))
    except SyntaxError:
        return []
    names: list[str] = []

    def targets(node):
        if isinstance(node, ast.Name):
            names.append(node.id)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for item in node.elts:
                targets(item)
        elif isinstance(node, ast.Starred):
            targets(node.value)

    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                targets(target)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets(node.target)
    return list(dict.fromkeys(names))


def answer_names(notebook) -> dict[str, list[str]]:
    """grade_id of each answer cell of an instructor's notebook -> the names it defines."""
    return {grade_id(cell): defined_names(cell.get("source", "")) for cell in notebook.get("cells", [])
            if is_answer(cell) and grade_id(cell)}


def _without_magics(source: str) -> str:
    """IPython's ``%`` and ``!`` lines as ``pass`` (they define nothing)."""
    lines = []
    for line in source.split("\n"):
        stripped = line.lstrip()
        lines.append(line[:len(line) - len(stripped)] + "pass" if stripped[:1] in ("%", "!") else line)
    return "\n".join(lines)
