"""The grader against students who attack it (samples/adversarial/).

The adversarial submissions of ``parameter_counting`` (one per attack: edited,
deleted, duplicated or retyped test cells, a bash kernelspec, broken files,
``os._exit``, ``sys.exit``, killing the grader, a process that outlives the
kernel, output flood, endless sleep, a 3 GiB allocation, patched checks,
numpy and builtins, fake "all tests passed", hunting for solutions, writing
to the grader's files; and the attacks on the two-kernel design: reading the
caller's frames or the running test, swapped modules, a patching thread, lying
subclasses, forbidden calls by built names, oversized values, fork bomb,
disk filler, kill(-1), a port scan, a package planted for the checker) are
graded in ONE batch with honest students, end to end: ``python -m autograder
release`` then ``python -m autograder grade``, as an instructor runs them. The tests then check that

- every student gets exactly the manifest's points per question (what was
  honestly earned) and the message it names (the limit hit, the mistake);
- honest students keep full marks, and the same notebook graded twice (in
  the batch, and in a second run) gets the same scores;
- no hidden-test line and no solution line reaches anything a student sees;
- the course folder (sources, release, gradebook, config) and every
  submission are byte-identical before and after;
- no process of the run is left behind, memory and disk are back to normal, and
  a process next to the grader survives kill(-1);
- nothing student-visible holds a hidden-test line even after decoding every
  base64, hex, zlib or reversed token, and questions.csv holds no formula;
- a feedback page, rendered in headless Chromium, is readable and teaches
  (a screenshot is written to tests/artifacts/feedback/).

Two small batches follow: the destructive and escaping attacks again with
``AUTOGRADER_SANDBOX=unshare``, and honest students (only those: never a hostile
sample without a sandbox) with ``AUTOGRADER_SANDBOX=none --unsafe-no-sandbox``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
import zlib
from pathlib import Path
from unittest import mock

import nbformat
import pytest
from nbgrader.api import Gradebook
from support import ARTIFACTS, assert_nothing_leaks, questions_by_student, read_csv, run_cli

from autograder import ASSIGNMENTS_DIR, SAMPLES_DIR, sandbox
from autograder import samples as samples_module
from autograder.feedback import find_leaks, secret_lines, solution_only_lines
from autograder.gradebook import gradebook_id
from autograder.nbgrader_config import c as course_config

SET = "adversarial"
FOLDER = SAMPLES_DIR / SET
MANIFEST = FOLDER / "manifest.json"
ASSIGNMENT = "parameter_counting"
SOURCE = ASSIGNMENTS_DIR / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
CELL_TIMEOUT = 15  # s: every cell of parameter_counting runs in well under a second
NOTEBOOK_TIMEOUT = 240  # s for one notebook, the kernel's start-up and a few limits hit included
HONEST = ("reference", "reference_again")
RECORDED = ("gradebook.db", "submitted/", "autograded/")  # what grade records in the course for formgrader
FEEDBACK_SHOTS = ARTIFACTS / "feedback"
# A process left behind by the run: it carries the run's mark in its environment, works
# in the run's folders, names them, or is the adversarial child that clears its
# environment (the attack code of lingering_child mentions grade_cells).
ESCAPED_CHILD_SIGNATURE = "grade_cells"
# graded again with AUTOGRADER_SANDBOX=unshare: the destructive and escaping attacks
UNSHARE_BATCH = ("reference", "kill_everything", "fork_bomb", "fills_disk", "hunts_solutions", "phones_home")
# graded without a sandbox: honest students only
NO_SANDBOX_BATCH = ("reference", "off_by_one")
LINKED = "symlinked_notebook"  # its notebook is a link to the course's source, made in the copy
NOT_ISOLATED = "NOT ISOLATED"  # what a destructive payload says when it refuses to act outside a sandbox

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

def grade_batch(root: Path, submissions: Path, out: Path, mark: str, workers: int = 2, *extra,
                mode: str | None = None):
    env_tmp = root / "tmp"  # the grader's temporary folders go here, so that leftovers are found
    env_tmp.mkdir(exist_ok=True)
    changes = {"TMPDIR": str(env_tmp), "ADVERSARIAL_RUN": mark} | ({} if mode is None else {"AUTOGRADER_SANDBOX": mode})
    with mock.patch.dict(os.environ, changes):  # the grader inherits them; the test's environment comes back
        return run_cli("grade", ASSIGNMENT, submissions, "--out", out, "--course", root / "course",
                       "--workers", workers, "--timeout", CELL_TIMEOUT, "--notebook-timeout", NOTEBOOK_TIMEOUT,
                       *extra, cwd=root, check_rc=None)


def link_to_source(submissions: Path, course: Path) -> None:
    """symlinked_notebook: its notebook becomes a link to the course's source notebook."""
    folder = submissions / LINKED
    if folder.is_dir():
        (folder / f"{ASSIGNMENT}.ipynb").symlink_to(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")


def memory_available_mib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) / 1024
    return 0.0


def folder_bytes(folder: Path) -> int:
    total = 0
    for path in Path(folder).rglob("*"):
        try:
            if path.is_file() and not path.is_symlink():
                total += path.stat().st_size
        except OSError:
            pass
    return total


class Watch:
    """What a batch must leave as it found it: a sentinel process next to the grader (kill(-1)
    must not reach it), a listening port on 127.0.0.1 (the port scan must not reach it), the
    machine's free memory and the grader's temporary folder."""

    def __init__(self, root: Path):
        self.root = root
        self.sentinel = subprocess.Popen(["sleep", "3000"], start_new_session=True)
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen()
        self.server.setblocking(False)
        self.memory_before = memory_available_mib()

    def finish(self) -> dict:
        time.sleep(3)  # whatever the grader killed has had time to go
        try:
            self.server.accept()
            reached = True
        except BlockingIOError:
            reached = False
        self.server.close()
        alive = self.sentinel.poll() is None
        if alive:
            os.kill(self.sentinel.pid, signal.SIGKILL)
        self.sentinel.wait()
        return {"sentinel_alive": alive, "port_reached": reached, "memory_before": self.memory_before,
                "memory_after": memory_available_mib(), "tmp_bytes": folder_bytes(self.root / "tmp")}


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
    link_to_source(submissions, root / "course")
    course_before, submissions_before = digest(root / "course"), digest(submissions)
    mark = uuid.uuid4().hex
    processes_before, rss_before = process_table(), rss_mib()
    watch = Watch(root)
    start = time.monotonic()
    try:
        proc = grade_batch(root, submissions, root / "out", mark)
    finally:
        seconds = time.monotonic() - start
        watched = watch.finish()
    leftovers = processes_of_run(processes_before, root, mark)
    return {
        "root": root, "submissions": submissions, "out": root / "out", "proc": proc, "seconds": seconds,
        "course_before": course_before, "course_after": digest(root / "course"),
        "submissions_before": submissions_before, "submissions_after": digest(submissions),
        "leftovers": leftovers, "rss_before": rss_before, "rss_after": rss_mib(), "mark": mark, **watched,
    }


# --- fast ---------------------------------------------------------------------------

def test_adversarial_samples_are_up_to_date():
    assert samples_module.stale_files(SET) == [], "run: python -m autograder.samples build adversarial"


def test_every_attack_has_a_sample():
    students = manifest()["students"]
    attacks = set(students) - {"reference", "reference_again", "off_by_one", "untouched"}
    assert len(attacks) >= 35
    assert set(UNSHARE_BATCH) | set(NO_SANDBOX_BATCH) <= set(students)
    # only honest students are ever graded without a sandbox
    assert all(students[name]["score"] > 0 and name in ("reference", "reference_again", "off_by_one")
               for name in NO_SANDBOX_BATCH)
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


def manifest_problems(out: Path, students: dict) -> list[str]:
    """Differences between a batch's questions.csv and grades.csv and the manifest's ``students``."""
    questions = questions_by_student(out)
    problems = []
    for student, entry in sorted(students.items()):
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
    grades = {r["student_id"]: float(r["score"]) for r in read_csv(out / "grades.csv")}
    for student, entry in students.items():
        if grades.get(student) != entry["score"]:
            problems.append(f"{student}: total expected {entry['score']}, got {grades.get(student)}")
    # a destructive payload that refused to act (no PID namespace) did not test the sandbox
    problems += [f"{r['student_id']}/{r['grade_id']}: the attack ran outside a sandbox"
                 for r in read_csv(out / "questions.csv") if NOT_ISOLATED in r["message"]]
    return problems


@pytest.mark.slow
def test_manifest_is_reproduced_exactly(batch):
    rows_of(batch)
    problems = manifest_problems(batch["out"], manifest()["students"])
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
    # nor encoded: every base64, hex, zlib or reversed token of what students see, decoded
    secrets = secret_lines(source)
    for path in sorted((out / "feedback").glob("*/*.html")) + [out / "questions.csv"]:
        found = decoded_leaks(path.read_text(errors="replace"), secrets)
        assert not found, f"{path}: hidden-test lines after decoding: {found[:3]}"
    # a flood of output does not become a flood of feedback
    sizes = {p.parent.name: p.stat().st_size for p in (out / "feedback").glob("*/*.html")}
    assert max(sizes.values()) < 5 * 2**20, sorted(sizes.items(), key=lambda kv: -kv[1])[:3]


TOKEN = re.compile(r"[A-Za-z0-9+/_=-]{16,}")


def decodings(text: str, depth: int = 0) -> list[str]:
    """``text``, reversed, and every base64 (standard or URL-safe), hex and zlib-compressed
    token in it, decoded (twice over: a token may hold another encoded one)."""
    found = [text, text[::-1]]
    if depth >= 2:
        return found
    for token in set(TOKEN.findall(text)):
        blobs = []
        for decode in (lambda t: base64.b64decode(t + "=" * (-len(t) % 4)),
                       lambda t: base64.urlsafe_b64decode(t + "=" * (-len(t) % 4)), binascii.unhexlify):
            try:
                blobs.append(decode(token))
            except (binascii.Error, ValueError):
                pass
        for blob in blobs:
            for data in (blob, _inflate(blob)):
                if data:
                    decoded = data.decode("utf-8", errors="replace")
                    found += decodings(decoded, depth + 1)
    return found


def _inflate(data: bytes) -> bytes | None:
    try:
        return zlib.decompress(data)
    except zlib.error:
        return None


def decoded_leaks(text: str, secrets: list[str]) -> list[str]:
    plain = html.unescape(re.sub(r"<[^>]+>", "", text))
    normal = lambda t: " ".join(t.split())  # noqa: E731
    texts = [normal(t) for t in decodings(plain) + decodings(text)]
    return [line for line in secrets if any(normal(line) in t for t in texts)]


def test_the_leak_check_decodes():
    secret = "check_conv_shape((64, 56, 56), 128, 3, stride=2, padding=1)"
    packed = base64.b64encode(zlib.compress(secret.encode())).decode()
    for shown in (base64.b64encode(secret.encode()).decode(), binascii.hexlify(zlib.compress(secret.encode())).decode(),
                  secret[::-1], f"<pre>got: '{packed}'</pre>", base64.b64encode(packed.encode()).decode()):
        assert decoded_leaks(f"<p>{shown}</p>", [secret]) == [secret], shown
    assert decoded_leaks("<p>nothing here, aGVsbG8gd29ybGQgaGVsbG8=</p>", [secret]) == []


@pytest.mark.slow
def test_questions_csv_holds_no_formula(batch):
    rows_of(batch)
    for table in ("questions.csv", "grades.csv"):
        for row in read_csv(batch["out"] / table):
            for column, value in row.items():
                if column in ("score", "max_score"):
                    continue
                assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), \
                    (table, row["student_id"], column, value[:80])
    messages = {r["grade_id"]: r["message"] for r in read_csv(batch["out"] / "questions.csv")
                if r["student_id"] == "formula_exception"}
    assert "HYPERLINK" in messages["test_conv_param_count"], messages  # shown, as text


@pytest.mark.slow
def test_nothing_outside_the_sandbox_was_reached(batch):
    rows_of(batch)
    assert batch["sentinel_alive"], "kill(-1) in a submission killed a process next to the grader"
    assert not batch["port_reached"], "a submission connected to a port on the grader's machine"


@pytest.mark.slow
def test_grader_files_are_untouched(batch):
    """Sources, release and config are byte-identical; what changed is only what ``grade``
    records for formgrader, and the gradebook holds exactly the grader's scores."""
    changed = {k for k in set(batch["course_before"]) | set(batch["course_after"])
               if batch["course_before"].get(k) != batch["course_after"].get(k)}
    unexpected = sorted(k for k in changed if not k.startswith(RECORDED))
    assert not unexpected, f"course files changed by grading: {unexpected}"
    assert batch["submissions_before"] == batch["submissions_after"], "a submission was changed by grading"
    course = batch["root"] / "course"
    assert not [p for p in course.rglob("*") if p.is_symlink()], "a link reached the course folder"
    scores = {(r["student_id"], r["grade_id"]): float(r["score"]) for r in read_csv(batch["out"] / "questions.csv")
              if r["score"] != ""}
    recorded = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", course_config.CourseDirectory.course_id) as gb:
        for student in {s for s, _ in scores}:
            submission = gb.find_submission(ASSIGNMENT, gradebook_id(student))
            for nb in submission.notebooks:
                recorded.update({(student, g.name): g.auto_score for g in nb.grades if (student, g.name) in scores})
    assert recorded == scores


@pytest.mark.slow
def test_processes_and_memory_are_back_to_normal(batch):
    assert not batch["leftovers"], "processes left behind:\n" + "\n".join(batch["leftovers"])
    # the test process itself holds nothing of the run (grading happens in subprocesses)
    assert batch["rss_after"] - batch["rss_before"] < 100, (batch["rss_before"], batch["rss_after"])
    # the machine's memory is back (other jobs may run next to this one: a wide margin)
    assert batch["memory_after"] > batch["memory_before"] - 2048, (batch["memory_before"], batch["memory_after"])
    # the disk filler's gigabytes went with its working copy
    assert batch["tmp_bytes"] < 64 * 2**20, f"{batch['tmp_bytes'] / 2**20:.0f} MiB left in the grader's folders"


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


# --- slow: the same attacks with another isolation mode, honest students without one -----

def small_batch(tmp_path, students, *extra, mode):
    submissions = tmp_path / "submissions"
    for student in students:
        shutil.copytree(FOLDER / student, submissions / student)
    release = run_cli("release", ASSIGNMENT, "--course", tmp_path / "course", cwd=tmp_path, check_rc=None)
    assert release.returncode == 0, release.stdout
    link_to_source(submissions, tmp_path / "course")
    course_before = digest(tmp_path / "course")
    mark = uuid.uuid4().hex
    processes_before = process_table()
    watch = Watch(tmp_path)
    try:
        proc = grade_batch(tmp_path, submissions, tmp_path / "out", mark, 2, *extra, mode=mode)
    finally:
        watched = watch.finish()
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert proc.stdout.startswith(f"isolation: {mode}"), proc.stdout[:300]
    problems = manifest_problems(tmp_path / "out", {s: manifest()["students"][s] for s in students})
    assert not problems, "\n".join(problems)
    after = digest(tmp_path / "course")
    assert {k: v for k, v in after.items() if not k.startswith(RECORDED)} == \
           {k: v for k, v in course_before.items() if not k.startswith(RECORDED)}
    assert not processes_of_run(processes_before, tmp_path, mark)
    return watched


@pytest.mark.slow
@pytest.mark.skipif(not sandbox.unshare_works(), reason="unshare does not work here")
def test_destructive_attacks_with_unshare(tmp_path):
    """kill(-1), the process and disk limits, the network and the instructor's files, with
    AUTOGRADER_SANDBOX=unshare: the same scores as in the bubblewrap batch."""
    watched = small_batch(tmp_path, UNSHARE_BATCH, mode="unshare")
    assert watched["sentinel_alive"] and not watched["port_reached"]
    assert watched["tmp_bytes"] < 64 * 2**20
    source = nbformat.read(SOURCE, as_version=4)
    assert assert_nothing_leaks(tmp_path / "out", SOURCE, tmp_path / "submissions") == len(UNSHARE_BATCH)
    for page in sorted((tmp_path / "out" / "feedback").glob("*/*.html")):
        assert not decoded_leaks(page.read_text(), secret_lines(source)), page


@pytest.mark.slow
def test_honest_students_without_a_sandbox(tmp_path):
    """AUTOGRADER_SANDBOX=none with --unsafe-no-sandbox: honest students only, the same scores."""
    small_batch(tmp_path, NO_SANDBOX_BATCH, "--unsafe-no-sandbox", mode="none")


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
    FEEDBACK_SHOTS.mkdir(parents=True, exist_ok=True)
    shot = FEEDBACK_SHOTS / "edited_test.png"
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
            page.screenshot(path=str(FEEDBACK_SHOTS / "edited_test-full.png"), full_page=True)
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
