"""Take one submission into a private course: regular files only, within limits.

A submission is a folder of regular files, and the student has read this code.
:func:`intake` copies the folder file by file and never follows anything:

- symbolic links (a notebook that points at the instructor's source, a data
  file that points at ``/etc/shadow``), files with more than one hard link
  (possibly a file outside the submission), named pipes, sockets and device
  files are not opened; the student is told which file was left out and why;
- every file is opened relative to its folder with ``O_NOFOLLOW`` and checked
  with ``fstat`` on the open descriptor, so what is copied is what was checked;
- the number of files, the total size and the notebook's size are capped;
- a notebook must be UTF-8 JSON, at most :data:`MAX_JSON_DEPTH` levels deep,
  shaped like a notebook; cells of the wrong shape are repaired (with a note)
  before nbformat or nbgrader see them.

Whatever the folder holds, the result is ``(problems, notes)``, never an
exception: a notebook in ``problems`` is not graded (the reason is the
student's message); ``notes`` are remarks on single graded cells.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
import numpy as np

from autograder.cells import grade_id as cell_grade_id

if TYPE_CHECKING:  # grading imports this module
    from autograder.grading import Assignment, GradedCell

MAX_FILES = 200  # files and folders of one submission: a notebook and its data, never thousands
MAX_TOTAL_BYTES = 64 * 2**20  # all files of one submission: every student gets a private copy
MAX_NOTEBOOK_BYTES = 16 * 2**20  # one notebook, outputs included; a larger one is a flood, not an answer
MAX_JSON_DEPTH = 100  # nesting of a notebook's JSON (nbformat uses about 8); deeper exhausts parsers' recursion
MAX_FOLDER_DEPTH = 8  # folders within folders (a data/ folder is fine; a deep chain only costs descriptors)
MAX_NAMES_SHOWN = 5  # file names listed in one message about many files
IGNORED = {".ipynb_checkpoints", "__pycache__"}  # Jupyter's and Python's caches: never part of an answer
CHUNK = 2**20  # bytes read at a time while copying

_OPEN_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_OPEN_FOLDER = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC
_KINDS = {stat.S_IFLNK: "a symbolic link", stat.S_IFIFO: "a named pipe (FIFO)", stat.S_IFSOCK: "a socket",
          stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device"}
_CELL_TYPES = {"code", "markdown", "raw"}
_NBGRADER_TYPES = {"grade_id": (str,), "points": (int, float), "grade": (bool,), "solution": (bool,),
                   "locked": (bool,), "task": (bool,), "schema_version": (int,), "cell_type": (str,)}
_CELL_ID = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")  # nbformat 4.5's pattern for cell ids


def shown(name: str) -> str:
    """A file name as the student sees it in a message (undecodable bytes and control
    characters escaped, so that a name cannot break a CSV line or hide itself)."""
    text = os.fsencode(name).decode("utf-8", "backslashreplace")
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def size_text(size: int) -> str:
    return f"{size / 2**20:.1f} MiB" if size >= 2**20 else f"{size:,} bytes"


# --- the files -------------------------------------------------------------------

class _Copier:
    """Copies one submission folder; ``skipped`` says why each file left out was left out."""

    def __init__(self, first: list[str]):
        self.first = first  # names copied before any other (the notebooks), so that a flood cannot crowd them out
        self.count = 0
        self.bytes = 0
        self.skipped: dict[str, str] = {}
        self.over_count: list[str] = []

    def copy(self, source: Path, dest: Path) -> None:
        try:
            info = os.lstat(source)
        except OSError as error:
            self.skipped[""] = f"the submission folder cannot be read ({error.strerror})"
            return
        if not stat.S_ISDIR(info.st_mode):
            self.skipped[""] = f"the submission folder {shown(source.name)} is {self._kind(info.st_mode)}, not a folder"
            return
        try:
            fd = os.open(source, _OPEN_FOLDER)
        except OSError as error:
            self.skipped[""] = f"the submission folder cannot be read ({error.strerror})"
            return
        try:
            dest.mkdir(parents=True, exist_ok=True)
            self._folder(fd, dest, "", 0)
        finally:
            os.close(fd)

    @staticmethod
    def _kind(mode: int) -> str:
        return _KINDS.get(stat.S_IFMT(mode), "not a regular file")

    def _folder(self, fd: int, dest: Path, prefix: str, depth: int) -> None:
        try:
            names = sorted(os.listdir(fd))
        except OSError as error:
            self.skipped[prefix or ""] = f"cannot be read ({error.strerror})"
            return
        if not prefix:
            names = [n for n in self.first if n in names] + [n for n in names if n not in self.first]
        for name in names:
            if name in IGNORED:
                continue
            rel = prefix + name
            try:
                info = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except OSError as error:
                self.skipped[rel] = f"cannot be read ({error.strerror})"
                continue
            if self.count >= MAX_FILES:
                self.over_count.append(rel)
            elif stat.S_ISDIR(info.st_mode):
                self._subfolder(fd, name, info, dest, rel, depth)
            elif stat.S_ISREG(info.st_mode):
                self._file(fd, name, info, dest, rel)
            else:
                self.skipped[rel] = (f"is {self._kind(info.st_mode)}, not a regular file; the grader does not "
                                     "follow or copy it (submit the file itself)")

    def _subfolder(self, fd: int, name: str, info: os.stat_result, dest: Path, rel: str, depth: int) -> None:
        if depth + 1 > MAX_FOLDER_DEPTH:
            self.skipped[rel + "/"] = f"is nested more than {MAX_FOLDER_DEPTH} folders deep; it was not copied"
            return
        try:
            sub = os.open(name, _OPEN_FOLDER, dir_fd=fd)
        except OSError as error:
            self.skipped[rel + "/"] = f"cannot be read ({error.strerror})"
            return
        try:
            now = os.fstat(sub)
            if (now.st_ino, now.st_dev) != (info.st_ino, info.st_dev):
                self.skipped[rel + "/"] = "changed while the submission was copied; it was not copied"
                return
            self.count += 1
            (dest / name).mkdir()
            self._folder(sub, dest / name, rel + "/", depth + 1)
        finally:
            os.close(sub)

    def _file(self, fd: int, name: str, info: os.stat_result, dest: Path, rel: str) -> None:
        if info.st_nlink != 1:
            self.skipped[rel] = (f"has {info.st_nlink} hard links, so it may be a file outside the submission; "
                                 "it was not copied (submit a plain copy of the file)")
            return
        if name.endswith(".ipynb") and info.st_size > MAX_NOTEBOOK_BYTES:
            self.skipped[rel] = (f"is {size_text(info.st_size)}; a notebook may be at most "
                                 f"{size_text(MAX_NOTEBOOK_BYTES)} (clear its outputs, save, and submit again)")
            return
        room = MAX_TOTAL_BYTES - self.bytes
        if info.st_size > room:
            self.skipped[rel] = (f"is {size_text(info.st_size)}, more than the {size_text(room)} left of the "
                                 f"{size_text(MAX_TOTAL_BYTES)} a submission may hold; it was not copied")
            return
        try:
            src = os.open(name, _OPEN_FILE, dir_fd=fd)
        except OSError as error:
            self.skipped[rel] = ("is a symbolic link; the grader does not follow it" if error.errno == errno.ELOOP
                                 else f"cannot be read ({error.strerror})")
            return
        try:
            now = os.fstat(src)
            # the descriptor is what gets copied: it must still be the regular file checked above
            if (not stat.S_ISREG(now.st_mode) or now.st_nlink != 1
                    or (now.st_ino, now.st_dev) != (info.st_ino, info.st_dev)):
                self.skipped[rel] = "changed while the submission was copied; it was not copied"
                return
            copied = self._copy_bytes(src, dest / name, min(room, MAX_NOTEBOOK_BYTES if name.endswith(".ipynb")
                                                          else room))
        finally:
            os.close(src)
        if copied is None:
            self.skipped[rel] = "grew while it was copied, beyond the submission's size limit; it was not copied"
            return
        self.count += 1
        self.bytes += copied

    @staticmethod
    def _copy_bytes(src: int, target: Path, limit: int) -> int | None:
        """Copy at most ``limit`` bytes; None (and no file) if there were more."""
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        copied = 0
        try:
            while chunk := os.read(src, min(CHUNK, limit - copied + 1)):
                copied += len(chunk)
                if copied > limit:
                    break
                os.write(out, chunk)
        finally:
            os.close(out)
        if copied > limit:
            target.unlink()
            return None
        return copied

    def messages(self) -> list[str]:
        """One line per file left out, and one for all those over the count limit."""
        lines = [f"{shown(rel)}: {why}" for rel, why in self.skipped.items() if rel]
        if self.over_count:
            names = ", ".join(shown(rel) for rel in self.over_count[:MAX_NAMES_SHOWN])
            extra = len(self.over_count) - MAX_NAMES_SHOWN
            more = f" and {extra:,} more" if extra > 0 else ""
            lines.append(f"the submission holds more than {MAX_FILES} files and folders; {names}{more} "
                         "were not copied")
        return lines


# --- the notebook ----------------------------------------------------------------

_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')


def json_depth(data: bytes) -> int:
    """How deep the brackets of a JSON text nest, counted without recursion (strings skipped)."""
    text = np.frombuffer(_STRINGS.sub(b"", data), dtype=np.uint8)
    opens = (text == ord("[")) | (text == ord("{"))
    closes = (text == ord("]")) | (text == ord("}"))
    steps = opens[opens | closes].astype(np.int8) - closes[opens | closes].astype(np.int8)
    return int(np.cumsum(steps, dtype=np.int32).max(initial=0))


def read_notebook(path: Path):
    """(notebook, None) or (None, what is wrong with the file); the file is never followed
    if it is a link, and never read past :data:`MAX_NOTEBOOK_BYTES`."""
    notebook, problem, _ = load_notebook(path)
    return notebook, problem


def load_notebook(path: Path):
    """(notebook, problem, repairs): as :func:`read_notebook`, plus what was repaired."""
    try:
        fd = os.open(path, _OPEN_FILE)
    except OSError as error:
        if error.errno == errno.ELOOP:
            return None, "the file is a symbolic link; the grader does not follow it", []
        return None, f"the file cannot be read ({error.strerror})", []
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None, "it is not a regular file", []
        if info.st_size > MAX_NOTEBOOK_BYTES:
            return None, (f"the file is {size_text(info.st_size)}; a notebook may be at most "
                          f"{size_text(MAX_NOTEBOOK_BYTES)}"), []
        with os.fdopen(os.dup(fd), "rb") as f:
            data = f.read(MAX_NOTEBOOK_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_NOTEBOOK_BYTES:
        return None, f"the file is larger than {size_text(MAX_NOTEBOOK_BYTES)}", []
    return parse_notebook(data)


def parse_notebook(data: bytes):
    """(notebook, problem, repairs) from the bytes of a submitted notebook; never raises."""
    if not data.strip():
        return None, "the file is empty", []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None, "the file is not text (UTF-8)", []
    depth = json_depth(data)
    if depth > MAX_JSON_DEPTH:
        return None, (f"the file's JSON is nested {depth:,} levels deep; a notebook needs fewer than "
                      f"{MAX_JSON_DEPTH}"), []
    try:
        content = json.loads(text)
    except json.JSONDecodeError as error:
        return None, f"the file is not valid JSON ({error.msg}, line {error.lineno})", []
    except RecursionError:
        return None, f"the file's JSON is nested too deeply (at most {MAX_JSON_DEPTH} levels)", []
    except ValueError as error:  # e.g. an integer with more digits than Python converts
        return None, f"the file is not valid JSON ({str(error)[:200]})", []
    if not isinstance(content, dict) or not isinstance(content.get("cells"), list):
        return None, "the file is JSON but not a Jupyter notebook (no list of cells)", []
    if content.get("nbformat") != 4 or type(content.get("nbformat_minor")) is not int:
        return None, (f"the file is not a version 4 notebook (nbformat {shown(repr(content.get('nbformat')))[:40]}"
                      f", nbformat_minor {shown(repr(content.get('nbformat_minor')))[:40]})"), []
    repairs = repair_notebook(content)
    text = json.dumps(content, ensure_ascii=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # JSON may spell lone surrogates, which no UTF-8 file can hold
        text = text.encode("utf-8", "replace").decode("utf-8")
        repairs.append("characters that are not valid Unicode were replaced by '?'")
    try:
        return nbformat.reads(text, as_version=4), None, repairs
    except Exception as error:  # nbformat's errors vary with the version of the file
        return None, f"nbformat cannot read it ({type(error).__name__}: {shown(str(error))[:500]})", repairs


def repair_notebook(content: dict) -> list[str]:
    """Give a notebook's JSON the types nbformat and nbgrader rely on; say what was changed.

    Only what a hand-edited file gets wrong is touched: a cell that is not an
    object is left out, wrong-typed metadata, sources and outputs are emptied,
    nbgrader metadata of the wrong shape is removed (the cell is then an
    ordinary cell, and nbgrader puts the assignment's own cell back).
    """
    repairs = []
    if not isinstance(content.get("metadata"), dict):
        content["metadata"] = {}
        repairs.append("the notebook's metadata was not an object and was emptied")
    cells = []
    for number, cell in enumerate(content["cells"], 1):
        if not isinstance(cell, dict) or cell.get("cell_type") not in _CELL_TYPES:
            repairs.append(f"cell {number} was not a notebook cell and was left out")
            continue
        fixed = []
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(line, str) for line in source):
            cell["source"] = "".join(source)
        elif not isinstance(source, str):
            cell["source"] = ""
            fixed.append("its source was not text and was emptied")
        if not isinstance(cell.get("metadata"), dict):
            cell["metadata"] = {}
            fixed.append("its metadata was not an object and was emptied")
        meta = cell["metadata"].get("nbgrader")
        if meta is not None and (not isinstance(meta, dict) or any(
                key in meta and (not isinstance(meta[key], types)
                                 or (bool not in types and isinstance(meta[key], bool)))
                for key, types in _NBGRADER_TYPES.items())):
            del cell["metadata"]["nbgrader"]
            fixed.append("its nbgrader metadata had the wrong types and was removed")
        if "id" in cell and not (isinstance(cell["id"], str) and _CELL_ID.match(cell["id"])):
            cell["id"] = f"repaired-{number}"
            fixed.append("its id was invalid and was replaced")
        if cell["cell_type"] == "code":
            outputs = cell.get("outputs", [])
            if not (isinstance(outputs, list) and all(isinstance(o, dict) and isinstance(o.get("output_type"), str)
                                                      for o in outputs)):
                fixed.append("its outputs had the wrong shape and were removed")
                outputs = []
            cell["outputs"] = outputs
            count = cell.get("execution_count")
            if count is not None and (type(count) is not int):
                cell["execution_count"] = None
        else:
            cell.pop("outputs", None)
            cell.pop("execution_count", None)
            if "attachments" in cell and not isinstance(cell["attachments"], dict):
                del cell["attachments"]
                fixed.append("its attachments were not an object and were removed")
        if fixed:
            repairs.append(f"cell {number}: " + ", ".join(fixed))
        cells.append(cell)
    content["cells"] = cells
    return repairs


# --- the submission ----------------------------------------------------------------

def intake(assignment: Assignment, student_dir: Path, dest: Path) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Copy a submission into a private course; say what is wrong with it.

    Returns (problems, notes): a notebook in ``problems`` cannot be graded (it is
    missing, unreadable or not a regular file, and is left out); ``notes`` are
    remarks on single graded cells (a deleted or duplicated cell). Files that were
    left out and repairs of a notebook are noted on the first graded cell of each
    notebook, so that they appear in questions.csv and on the feedback page.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    copier = _Copier([f"{nb}.ipynb" for nb in assignment.notebooks])
    copier.copy(Path(student_dir), dest)
    problems: dict[str, str] = {}
    notes: dict[str, list[str]] = {}
    if "" in copier.skipped:  # the folder itself was refused: nothing to grade
        return {nb: copier.skipped[""] for nb in assignment.notebooks}, notes
    left_out = copier.messages()
    for nb in assignment.notebooks:
        name = f"{nb}.ipynb"
        path = dest / name
        first = next((c for c in assignment.cells_of(nb) if c.autograded), None) or next(
            iter(assignment.cells_of(nb)), None)
        remarks = [f"not copied: {line}" for line in left_out if not line.startswith(f"{name}: ")]
        if name in copier.skipped:
            problems[nb] = f"{name} cannot be graded: it {copier.skipped[name]}"
        elif not path.is_file():
            others = sorted(p.name for p in dest.glob("*.ipynb"))
            listed = ", ".join(shown(o) for o in others[:MAX_NAMES_SHOWN])
            listed += " …" if len(others) > MAX_NAMES_SHOWN else ""
            problems[nb] = f"no {name} in the submission" + (
                f" (found {listed}: the notebook must keep its released name)" if others else "")
        else:
            notebook, problem, repairs = load_notebook(path)
            if problem:
                problems[nb] = f"{name} cannot be graded: {problem}"
                path.unlink()
            else:
                if repairs:
                    remarks.append(f"{name} was repaired before grading: " + "; ".join(repairs))
                for grade_id, note in cell_remarks(notebook, assignment.cells_of(nb)).items():
                    notes.setdefault(grade_id, []).append(note)
                if sanitize_ids(notebook, assignment.known_ids.get(nb, set())) or repairs:
                    nbformat.write(notebook, path)
        if remarks and first is not None:
            notes.setdefault(first.grade_id, [])[:0] = remarks
    return problems, notes


def sanitize_ids(notebook, known: set[str]) -> bool:
    """Make a notebook's nbgrader cells unambiguous before nbgrader sees them.

    A cell whose grade_id the assignment does not have (a renamed test) and every
    copy of a duplicated cell but the last lose their nbgrader metadata: they are
    ordinary cells then, and nbgrader puts the assignment's own cell back where
    one is missing. (nbgrader itself stops on both.) Returns whether anything changed.
    """
    last = {}
    for index, cell in enumerate(notebook.cells):
        if cell_grade_id(cell) is not None:
            last[cell_grade_id(cell)] = index
    changed = False
    for index, cell in enumerate(notebook.cells):
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta is None:
            continue
        grade_id = meta.get("grade_id")
        if grade_id is not None and (grade_id not in known or last.get(grade_id) != index):
            del cell.metadata["nbgrader"]
            changed = True
    return changed


def _same_code(a: str, b: str) -> bool:
    """Equal but for trailing spaces and blank lines at the ends."""
    def lines(text):
        return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")
    return lines(a) == lines(b)


def cell_remarks(notebook, cells: list[GradedCell]) -> dict[str, str]:
    """Remarks on graded cells a student deleted, duplicated or changed (the grader
    grades with the assignment's own test cells and points whatever the submission holds)."""
    counts: dict[str, int] = {}
    last: dict[str, dict] = {}
    for cell in notebook.cells:
        grade_id = cell_grade_id(cell)
        if grade_id:
            counts[grade_id] = counts.get(grade_id, 0) + 1
            last[grade_id] = cell
    remarks = {}
    for cell in cells:
        found = []
        if counts.get(cell.grade_id, 0) == 0:
            found.append("this test cell was deleted from the submission; the grader put it back and ran it"
                         if cell.autograded else "this cell was deleted from the submission")
        elif cell.autograded and cell.released is not None:
            submitted = last[cell.grade_id]
            if submitted.get("cell_type") != "code":
                found.append(f"this test cell was turned into a {submitted.get('cell_type')} cell in the "
                             "submission; the grader ran the original test instead")
            elif not _same_code(submitted.get("source", ""), cell.released):
                found.append("this test cell was changed in the submission; the grader ran the original "
                             "test instead")
            points = submitted.get("metadata", {}).get("nbgrader", {}).get("points")
            if points is not None and points != cell.max_score:
                found.append(f"its points were changed to {points!r} in the submission; "
                             f"the assignment's {cell.max_score:g} points count")
        found += [f"answer cell {answer!r} was deleted from the submission"
                  for answer in cell.answers if counts.get(answer, 0) == 0]
        found += [f"cell {name!r} appears {counts[name]} times; only the last copy was graded"
                  for name in (cell.grade_id, *cell.answers) if counts.get(name, 0) > 1]
        if found:
            remarks[cell.grade_id] = "; ".join(found)
    return remarks
