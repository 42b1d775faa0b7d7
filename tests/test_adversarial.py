"""The grader against students who attack it (autograder/samples/adversarial/).

The adversarial submissions of ``parameter_counting`` (one per attack: edited,
deleted, duplicated or retyped test cells, a bash kernelspec, broken files,
``os._exit``, ``sys.exit``, killing the grader, a process that outlives the
kernel, output flood, endless sleep, a 3 GiB allocation, patched checks,
numpy and builtins, fake "all tests passed", hunting for solutions, writing
to the grader's files) are graded in ONE batch with honest students, end to
end: ``python -m autograder release`` then ``python -m autograder grade``, as
an instructor runs them. The tests then check that

- every student gets exactly the manifest's points per question (what was
  honestly earned) and the message it names (the limit hit, the mistake);
- honest students keep full marks, and the same notebook graded twice (in
  the batch, and in a second run) gets the same scores;
- no hidden-test line and no solution line reaches anything a student sees;
- the course folder (sources, release, gradebook, config) and every
  submission are byte-identical before and after;
- no process of the run is left behind, and memory is back to normal;
- a feedback page, rendered in headless Chromium, is readable and teaches
  (a screenshot is written to tests/artifacts/feedback/).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from pathlib import Path

import nbformat
import pytest

from autograder import ASSIGNMENTS_DIR, SAMPLES_DIR
from autograder import samples as samples_module
from autograder.feedback import find_leaks, secret_lines, solution_only_lines
from test_autograder import assert_nothing_leaks, questions_by_student, read_csv, run_cli

SET = "adversarial"
FOLDER = SAMPLES_DIR / SET
MANIFEST = FOLDER / "manifest.json"
ASSIGNMENT = "parameter_counting"
SOURCE = ASSIGNMENTS_DIR / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
CELL_TIMEOUT = 15  # s: every cell of parameter_counting runs in well under a second
NOTEBOOK_TIMEOUT = 240  # s for one notebook, the kernel's start-up and a few limits hit included
HONEST = ("reference", "reference_again")
ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "feedback"
# A process left behind by the run: it carries the run's mark in its environment, works
# in the run's folders, names them, or is the adversarial child that clears its
# environment (the attack code of lingering_child mentions grade_cells).
ESCAPED_CHILD_SIGNATURE = "grade_cells"

pytestmark = pytest.mark.skipif(not MANIFEST.exists(), reason="no adversarial samples built")


def manifest() -> dict:
    return json.loads(MANIFEST.read_text())


def student_folders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and p.name[0] not in "._")


def digest(folder: Path) -> dict[str, str]:
    """relative path -> sha256 of every file under ``folder``."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


# --- processes and memory -----------------------------------------------------------

def process_table() -> dict[int, dict]:
    """pid -> {start, cmdline, cwd, environ} of every process we may look at (Linux /proc)."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            start = int(stat.rsplit(")", 1)[1].split()[19])
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            cwd = ""
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            environ = b""
        table[int(entry.name)] = {"start": start, "cmdline": cmdline, "cwd": cwd, "environ": environ}
    return table


def processes_of_run(before: dict[int, dict], root: Path, mark: str) -> list[str]:
    """Processes that were not there before the run and belong to it."""
    found = []
    for pid, info in process_table().items():
        if pid in before and before[pid]["start"] == info["start"]:
            continue
        if pid == os.getpid():
            continue
        if (mark.encode() in info["environ"] or str(root) in info["cwd"] or str(root) in info["cmdline"]
                or ESCAPED_CHILD_SIGNATURE in info["cmdline"]):
            found.append(f"{pid}: {info['cmdline'][:160]} (cwd {info['cwd']})")
    return found


def rss_mib(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# --- the run ------------------------------------------------------------------------

def grade_batch(root: Path, submissions: Path, out: Path, mark: str, workers: int = 2):
    env_tmp = root / "tmp"  # the grader's temporary folders go here, so that leftovers are found
    env_tmp.mkdir(exist_ok=True)
    os.environ["TMPDIR"], old_tmp = str(env_tmp), os.environ.get("TMPDIR")
    os.environ["ADVERSARIAL_RUN"] = mark
    try:
        return run_cli("grade", ASSIGNMENT, submissions, "--out", out, "--course", root / "course",
                       "--workers", workers, "--timeout", CELL_TIMEOUT, "--notebook-timeout", NOTEBOOK_TIMEOUT,
                       cwd=root, check_rc=None)
    finally:
        os.environ.pop("ADVERSARIAL_RUN", None)
        if old_tmp is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = old_tmp


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Release parameter_counting, then grade the adversarial batch once (2 workers).

    The submissions are a copy of the committed samples, so that an attack on
    other students' files could never reach the repository.
    """
    root = tmp_path_factory.mktemp("adversarial")
    submissions = root / "submissions"
    for student in student_folders(FOLDER):
        shutil.copytree(student, submissions / student.name)
    release = run_cli("release", ASSIGNMENT, "--course", root / "course", "--workers", 2, cwd=root, check_rc=None)
    assert release.returncode == 0, release.stdout
    course_before, submissions_before = digest(root / "course"), digest(submissions)
    mark = uuid.uuid4().hex
    processes_before, rss_before = process_table(), rss_mib()
    start = time.monotonic()
    proc = grade_batch(root, submissions, root / "out", mark)
    seconds = time.monotonic() - start
    time.sleep(3)  # whatever the grader killed has had time to go
    leftovers = processes_of_run(processes_before, root, mark)
    return {
        "root": root, "submissions": submissions, "out": root / "out", "proc": proc, "seconds": seconds,
        "course_before": course_before, "course_after": digest(root / "course"),
        "submissions_before": submissions_before, "submissions_after": digest(submissions),
        "leftovers": leftovers, "rss_before": rss_before, "rss_after": rss_mib(), "mark": mark,
    }


# --- fast ---------------------------------------------------------------------------

def test_adversarial_samples_are_up_to_date():
    assert samples_module.stale_files(SET) == [], "run: python -m autograder.samples build adversarial"


def test_every_attack_has_a_sample():
    students = manifest()["students"]
    attacks = set(students) - {"reference", "reference_again", "off_by_one", "untouched"}
    assert len(attacks) >= 15
    assert manifest()["assignment"] == ASSIGNMENT
    for name in HONEST:
        assert students[name]["score"] == students[name]["max_score"] == sum(manifest()["points"].values())
    # what an attack was after is never in the manifest: no student above the reference
    assert max(s["score"] for s in students.values()) == students["reference"]["score"]


# --- slow: the batch ----------------------------------------------------------------

def rows_of(batch) -> dict[str, dict[str, dict]]:
    """questions.csv of the batch by student and grade_id; a batch that died says so."""
    if not (batch["out"] / "questions.csv").exists():
        pytest.fail(f"the batch did not finish (exit code {batch['proc'].returncode}):\n{batch['proc'].stdout[-3000:]}")
    return questions_by_student(batch["out"])


def expected_words(words) -> list[str]:
    return [words] if isinstance(words, str) else list(words)


@pytest.mark.slow
def test_the_batch_finishes(batch):
    proc = batch["proc"]
    assert proc.returncode == 0, proc.stdout[-5000:]
    grades = {row["student_id"] for row in read_csv(batch["out"] / "grades.csv")}
    assert grades == set(manifest()["students"]), proc.stdout[-5000:]
    print(f"graded {len(grades)} adversarial and honest submissions in {batch['seconds']:.0f} s (2 workers)")


@pytest.mark.slow
def test_manifest_is_reproduced_exactly(batch):
    questions = rows_of(batch)
    problems = []
    for student, entry in sorted(manifest()["students"].items()):
        rows = questions.get(student, {})
        got = {g: float(r["score"]) for g, r in rows.items() if r["score"] != ""}
        for grade_id, score in entry["expected"].items():
            if got.get(grade_id) != score:
                problems.append(f"{student}/{grade_id}: expected {score}, got {got.get(grade_id)} "
                                f"({rows.get(grade_id, {}).get('message', 'no row')[:300]})")
        for grade_id, words in entry.get("feedback", {}).items():
            message = rows.get(grade_id, {}).get("message", "")
            for word in expected_words(words):
                if word.lower() not in message.lower():
                    problems.append(f"{student}/{grade_id}: message lacks {word!r}: {message[:300]!r}")
    grades = {r["student_id"]: float(r["score"]) for r in read_csv(batch["out"] / "grades.csv")}
    for student, entry in manifest()["students"].items():
        if grades.get(student) != entry["score"]:
            problems.append(f"{student}: total expected {entry['score']}, got {grades.get(student)}")
    assert not problems, "\n".join(problems)


@pytest.mark.slow
def test_honest_students_keep_full_marks(batch):
    questions = rows_of(batch)
    full = manifest()["points"]
    for student in HONEST:
        assert {g: float(r["score"]) for g, r in questions[student].items() if r["score"] != ""} == full, student
        assert all(r["message"] in ("", "needs manual grading") for r in questions[student].values()), student
    # the same notebook twice in one batch: the same rows
    strip = [{k: v for k, v in row.items() if k != "student_id"} for row in read_csv(batch["out"] / "questions.csv")]
    rows = read_csv(batch["out"] / "questions.csv")
    assert [s for s, r in zip(strip, rows) if r["student_id"] == HONEST[0]] == \
           [s for s, r in zip(strip, rows) if r["student_id"] == HONEST[1]]


@pytest.mark.slow
def test_students_see_no_hidden_test_and_no_solution(batch):
    out = batch["out"]
    rows_of(batch)
    checked = assert_nothing_leaks(out, SOURCE, batch["submissions"])
    assert checked == len(manifest()["students"])
    # nor reversed, as hunts_solutions prints every hidden line it finds: a page that quotes
    # them is caught by the grader's own check, these would not be
    source = nbformat.read(SOURCE, as_version=4)
    reversed_lines = [line[::-1] for line in secret_lines(source)]
    for page in sorted((out / "feedback").glob("*/*.html")):
        assert not find_leaks(page.read_text(), reversed_lines), f"{page}: the student read the hidden tests"
    # nor in the message column, whoever the student
    messages = "\n".join(r["message"] for r in read_csv(out / "questions.csv"))
    assert not [line for line in secret_lines(source) + solution_only_lines(source) if line in messages]
    # a flood of output does not become a flood of feedback
    sizes = {p.parent.name: p.stat().st_size for p in (out / "feedback").glob("*/*.html")}
    assert max(sizes.values()) < 5 * 2**20, sorted(sizes.items(), key=lambda kv: -kv[1])[:3]


@pytest.mark.slow
def test_grader_files_are_untouched(batch):
    changed = {k for k in set(batch["course_before"]) | set(batch["course_after"])
               if batch["course_before"].get(k) != batch["course_after"].get(k)}
    assert not changed, f"course files changed by grading: {sorted(changed)}"
    assert batch["submissions_before"] == batch["submissions_after"], "a submission was changed by grading"


@pytest.mark.slow
def test_processes_and_memory_are_back_to_normal(batch):
    assert not batch["leftovers"], "processes left behind:\n" + "\n".join(batch["leftovers"])
    # the test process itself holds nothing of the run (grading happens in subprocesses)
    assert batch["rss_after"] - batch["rss_before"] < 100, (batch["rss_before"], batch["rss_after"])


@pytest.mark.slow
def test_grading_again_gives_the_same_scores(batch, tmp_path):
    """Four submissions graded a second time, one worker: the same scores as in the batch."""
    rows_of(batch)
    again = tmp_path / "submissions"
    chosen = ["reference", "os_exit", "patched_builtins", "duplicated_test"]
    for student in chosen:
        shutil.copytree(batch["submissions"] / student, again / student)
    shutil.copytree(batch["root"] / "course", tmp_path / "course")
    proc = grade_batch(tmp_path, again, tmp_path / "out", uuid.uuid4().hex, workers=1)
    assert proc.returncode == 0, proc.stdout[-3000:]
    first = [r for r in read_csv(batch["out"] / "questions.csv") if r["student_id"] in chosen]
    second = read_csv(tmp_path / "out" / "questions.csv")
    assert [(r["student_id"], r["grade_id"], r["score"]) for r in second] == \
           [(r["student_id"], r["grade_id"], r["score"]) for r in first]


# --- slow: the feedback page in a browser ---------------------------------------------

@pytest.mark.slow
def test_feedback_page_is_readable_in_chromium(batch):
    """edited_test: a wrong conv_output_shape whose test cell the student replaced. Its page
    must show the failed check, what came back and the likely mistake, and no hidden test."""
    from jupyterlab_browser import find_chromium, launch_chromium

    chromium = find_chromium()
    if chromium is None:
        pytest.skip("no Chromium (apt-get install chromium; .ci/run installs it)")
    playwright = pytest.importorskip("playwright.sync_api")
    page_file = batch["out"] / "feedback" / "edited_test" / f"{ASSIGNMENT}.html"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "edited_test.png"
    with playwright.sync_playwright() as p:
        context = launch_chromium(p, chromium, batch["root"] / "chromium-profile", viewport=(1200, 900))
        try:
            page = context.new_page()
            page.goto(page_file.as_uri())
            text = page.inner_text("body")
            # the failed check, scrolled into view for the screenshot
            page.get_by_text("likely mistake: the +1").first.scroll_into_view_if_needed()
            page.evaluate("window.scrollBy(0, 250)")
            page.screenshot(path=str(shot))
            page.screenshot(path=str(ARTIFACTS / "edited_test-full.png"), full_page=True)
        finally:
            context.close()
    assert shot.stat().st_size > 10_000
    assert "conv_output_shape" in text
    assert "likely mistake: the +1 is missing" in text
    # the student is told the edited test cell was put back
    assert "Note from the grader: this test cell was changed in the submission" in text
    assert "expected:" in text and "got:" in text
    # formulas are typeset (or left out), never shown to students as raw LaTeX
    assert "\\frac" not in text and "\\lfloor" not in text, "the feedback page shows raw LaTeX"
    source = nbformat.read(SOURCE, as_version=4)
    assert not [line for line in secret_lines(source) if line in text]
    # the student's own answers are theirs to see (edited_test answered like the reference);
    # a solution line they did not write must not show up
    submitted = nbformat.read(batch["submissions"] / "edited_test" / f"{ASSIGNMENT}.ipynb", as_version=4)
    own = {line.strip() for cell in submitted.cells for line in cell.source.splitlines()}
    assert not [line for line in solution_only_lines(source) if line in text and line not in own]
