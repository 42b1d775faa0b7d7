"""The course gradebook: graded submissions recorded for formgrader, manual grades
that survive a re-grade, and the final-grade exports (CSV, Canvas).

The slow test grades three parameter_counting samples with ``python -m autograder
grade`` into a temporary course, grades the written answer (explain_weight_sharing,
2 points, graded by hand) through a real formgrader (``jupyter server`` with
nbgrader's extension, its REST API as the formgrader page calls it), grades again
with changed submissions and exports.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook
from support import FIXTURES, REPO

from autograder.course import Course
from autograder.export_grades import read_roster, write_canvas
from autograder.gradebook import FinalGrade, gradebook_id

SAMPLES = REPO / "samples" / "parameter_counting"
ASSIGNMENT = "parameter_counting"
WRITTEN = "explain_weight_sharing"  # the assignment's manually graded cell (2 points)
UNSAFE = "zoë q"  # a folder name that is no safe nbgrader student id
TOKEN = "formgrader-test-token"


# --- fast ------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["alice", "s1234567", "jane.doe@uni.edu", "A-b_c+d"])
def test_safe_student_ids_are_kept(name):
    assert gradebook_id(name) == name


@pytest.mark.parametrize("name", ["zoë q", "-rf", "*", "a?b", "x[1]", "a b", "tab\tname", "=cmd()", "é", "a" * 200,
                                  "new\nline", "%2e%2e", "bad\udcff"])
def test_unsafe_student_ids_get_a_safe_stable_id(name):
    key = gradebook_id(name)
    assert key != name and key == gradebook_id(name)
    assert key[0].isalnum() and len(key) <= 128
    assert all(ch.isascii() and (ch.isalnum() or ch in "_.@+-") for ch in key), key
    assert gradebook_id(name + "x") != key


def test_canvas_file_takes_identities_from_the_roster_and_neutralises_formulas(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("\ufeffStudent,ID,SIS User ID,SIS Login ID,Section,Homework 1 (17)\n"
                      "    Points Possible,,,,,10\n"
                      "\"=HYPERLINK(\"\"http://x\"\")\",101,S-1,alice,Sec A,5\n"
                      "\"Doe, Jane\",102,S-2,jane,Sec B,\n", encoding="utf-8")
    grades = [FinalGrade("alice", 3.0, 1.5, 0.0, 5.0, []), FinalGrade("bob", 1.0, 0.0, 0.0, 5.0, []),
              FinalGrade("jane", 4.0, 0.0, 0.0, 5.0, ["nb/written"])]
    out = tmp_path / "canvas.csv"
    left_out = write_canvas(grades, out, "+Quiz (42)", 5.0, read_roster(roster, "SIS Login ID"))
    assert left_out == ["bob"]
    rows = list(csv.reader(out.open(newline="", encoding="utf-8")))
    assert rows == [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "'+Quiz (42)"],
                    ["Points Possible", "", "", "", "", "5"],
                    ["'=HYPERLINK(\"http://x\")", "101", "S-1", "alice", "Sec A", "4.5"],
                    ["Doe, Jane", "102", "S-2", "jane", "Sec B", "4"]]


# --- slow: grade, formgrader, re-grade, export ---------------------------------------

def run_cli(*args, cwd: Path) -> str:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-m", "autograder", *map(str, args)], cwd=cwd, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=1800)
    assert proc.returncode == 0, proc.stdout
    return proc.stdout


def submit(submissions: Path, student: str, sample: str, written: str | None = None) -> None:
    """SUBMISSIONS/<student>/parameter_counting.ipynb from a sample, its written answer replaced."""
    folder = submissions / student
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    nb = nbformat.read(SAMPLES / sample / f"{ASSIGNMENT}.ipynb", as_version=4)
    if written is not None:
        [cell] = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == WRITTEN]
        cell.source = written
    nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")


def grade(tmp_path: Path, submissions: Path, course: Path, out: Path) -> str:
    return run_cli("grade", ASSIGNMENT, submissions, "--out", out, "--course", course, "--workers", "2",
                   "--unsafe-no-sandbox", cwd=tmp_path)  # the flag only matters where no sandbox works


def grades_of(course: Path, student: str) -> dict[str, dict]:
    """grade_id -> the gradebook's grade, as a dict (nbgrader's API)."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        nb = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
        return {g.name: g.to_dict() for g in nb.grades}


def comment_of(course: Path, student: str, name: str) -> str | None:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return gb.find_comment(name, ASSIGNMENT, ASSIGNMENT, student).manual_comment


class Formgrader:
    """nbgrader's formgrader in a real ``jupyter server`` started in the course folder."""

    def __init__(self, course: Path, scratch: Path):
        config = scratch / "jupyter-config"
        config.mkdir(parents=True)
        # nbgrader's server extension on, the heavy front ends off (only the API is used)
        (config / "jupyter_server_config.json").write_text(json.dumps({"ServerApp": {"jpserver_extensions": {
            "nbgrader": True, "jupyterlab": False, "notebook": False, "jupyter_lsp": False}}}))
        env = dict(os.environ, JUPYTER_CONFIG_DIR=str(config), JUPYTER_RUNTIME_DIR=str(scratch / "runtime"),
                   PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
                   PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
        self.log = scratch / "server.log"
        for _ in range(3):  # a free port may be taken by another test before the server binds it
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self.port = s.getsockname()[1]
            self.process = subprocess.Popen(
                [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root", f"--port={self.port}",
                 "--ServerApp.port_retries=0", f"--IdentityProvider.token={TOKEN}",
                 f"--ServerApp.root_dir={course}"],
                cwd=course, env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
            if self.wait_until_up():
                return
        raise AssertionError(f"formgrader would not start:\n{self.log.read_text()}")

    def wait_until_up(self) -> bool:
        """True once the server answers; False when it exited because its port was in use."""
        deadline = time.monotonic() + 180
        while True:
            try:
                self.get("/api/status")
                return True
            except OSError:
                if self.process.poll() is not None and "already in use" in self.log.read_text():
                    return False
                assert self.process.poll() is None and time.monotonic() < deadline, self.log.read_text()
                time.sleep(1)

    def request(self, method: str, path: str, data: dict | None = None):
        body = None if data is None else json.dumps(data).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=body, method=method,
                                     headers={"Authorization": f"token {TOKEN}"})
        with urllib.request.urlopen(req, timeout=60) as response:
            return response.status, response.read().decode()

    def get(self, path: str):
        return json.loads(self.request("GET", path)[1])

    def put(self, path: str, data: dict):
        return json.loads(self.request("PUT", path, data)[1])

    def stop(self):
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def grade_by_hand(server: Formgrader, student: str, score: float, comment: str | None = None) -> None:
    """What the formgrader page does when a grader types a score (and a comment) for the written answer."""
    [notebook] = [n for n in server.get(f"/formgrader/api/submitted_notebooks/{ASSIGNMENT}/{ASSIGNMENT}")
                  if n["student"] == student]
    status, page = server.request("GET", f"/formgrader/submissions/{notebook['id']}/")
    assert status == 200 and "weight" in page  # the grading page renders the autograded notebook
    grades = server.get(f"/formgrader/api/grades?submission_id={notebook['id']}")
    [grade] = [g for g in grades if g["name"] == WRITTEN]
    saved = server.put(f"/formgrader/api/grade/{grade['id']}", {"manual_score": score})
    assert saved["manual_score"] == score and not saved["needs_manual_grade"]
    if comment is not None:
        [entry] = [c for c in server.get(f"/formgrader/api/comments?submission_id={notebook['id']}")
                   if c["name"] == WRITTEN]
        saved = server.put(f"/formgrader/api/comment/{entry['id']}", {"manual_comment": comment})
        assert saved["manual_comment"] == comment


def read_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
def test_manual_grades_survive_regrading_and_reach_the_exports(tmp_path):
    course, submissions, out = tmp_path / "course", tmp_path / "submissions", tmp_path / "out"
    submit(submissions, "reference", "reference")
    submit(submissions, "bias_forgotten", "bias_forgotten")
    submit(submissions, UNSAFE, "reference", written="Weight sharing: one kernel slides over the image.")
    unsafe = gradebook_id(UNSAFE)
    printed = grade(tmp_path, submissions, course, out)
    assert f"recorded as student {unsafe!r}" in printed

    # every graded submission is in the course gradebook with the grader's per-cell scores
    results = {s["student_id"]: s for s in json.loads((out / "results.json").read_text())["students"]}
    for folder, student in [("reference", "reference"), ("bias_forgotten", "bias_forgotten"), (UNSAFE, unsafe)]:
        recorded = grades_of(course, student)
        for q in results[folder]["questions"]:
            if q["score"] is None:  # the written answer: waiting for a grader
                assert recorded[q["grade_id"]]["auto_score"] is None and recorded[q["grade_id"]]["needs_manual_grade"]
            else:
                assert recorded[q["grade_id"]]["auto_score"] == q["score"], (student, q)
        assert set(recorded) == {q["grade_id"] for q in results[folder]["questions"]}
        assert (course / "autograded" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
        assert (course / "submitted" / student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
    assert grades_of(course, "bias_forgotten")["test_conv_param_count"]["auto_score"] == 0
    assert not (course / "autograded" / UNSAFE).exists()

    server = Formgrader(course, tmp_path / "formgrader")
    try:
        listed = {s["student"]: s for s in server.get(f"/formgrader/api/submissions/{ASSIGNMENT}")}
        assert set(listed) == {"reference", "bias_forgotten", unsafe}
        assert all(s["autograded"] and s["submitted"] and s["needs_manual_grade"] for s in listed.values())
        grade_by_hand(server, "reference", 1.5, comment="Right idea; say why the counts differ.")
        grade_by_hand(server, "bias_forgotten", 2.0)
        grade_by_hand(server, unsafe, 1.0)

        # grade again: reference unchanged, bias_forgotten fixed its code, the other rewrote the answer
        submit(submissions, "bias_forgotten", "reference")
        submit(submissions, UNSAFE, "reference", written="A different answer, to be read again.")
        printed = grade(tmp_path, submissions, course, out)
    finally:
        server.stop()
    assert f"{unsafe}/{WRITTEN}" in printed  # named as to grade again

    reference, fixed = grades_of(course, "reference"), grades_of(course, "bias_forgotten")
    rewritten = grades_of(course, unsafe)
    assert reference[WRITTEN]["manual_score"] == 1.5 and not reference[WRITTEN]["needs_manual_grade"]
    assert comment_of(course, "reference", WRITTEN) == "Right idea; say why the counts differ."
    assert fixed[WRITTEN]["manual_score"] == 2.0 and not fixed[WRITTEN]["needs_manual_grade"]
    assert fixed["test_conv_param_count"]["auto_score"] == 2  # the new automatic score
    assert rewritten[WRITTEN]["manual_score"] == 1.0 and rewritten[WRITTEN]["needs_manual_grade"]

    run_cli("export", "csv", ASSIGNMENT, "--course", course, "--out", tmp_path / "final.csv", cwd=tmp_path)
    rows = {r["student_id"]: r for r in read_rows(tmp_path / "final.csv")}
    expected = {"reference": ("18", "1.5", "19.5", "no"), "bias_forgotten": ("18", "2", "20", "no"),
                unsafe: ("18", "1", "19", "yes")}
    assert {s: (r["auto_score"], r["manual_score"], r["total"], r["manual_grading_pending"])
            for s, r in rows.items()} == expected
    assert all(r["max_score"] == "20" and r["late_penalty"] == "0" for r in rows.values())
    assert rows[unsafe]["pending_cells"] == f"{ASSIGNMENT}/{WRITTEN}"
    for r in rows.values():
        assert float(r["total"]) == float(r["auto_score"]) + float(r["manual_score"])

    roster = tmp_path / "canvas-export.csv"
    roster.write_text("Student,ID,SIS User ID,SIS Login ID,Section\n    Points Possible,,,,\n"
                      "\"Ref, Erence\",11,U11,reference,L1\n\"Forgot, Bias\",12,U12,bias_forgotten,L1\n")
    run_cli("export", "canvas", ASSIGNMENT, "--course", course, "--out", tmp_path / "canvas.csv",
            "--roster", roster, "--canvas-column", "Parameter counting (4242)", cwd=tmp_path)
    with open(tmp_path / "canvas.csv", newline="", encoding="utf-8") as f:
        canvas = list(csv.reader(f))
    assert canvas == [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Parameter counting (4242)"],
                      ["Points Possible", "", "", "", "", "20"],
                      ["Forgot, Bias", "12", "U12", "bias_forgotten", "L1", "20"],
                      ["Ref, Erence", "11", "U11", "reference", "L1", "19.5"]]
    assert Course(course).gradebook.is_file()


def test_export_says_when_the_course_has_no_grades(tmp_path, capsys):
    from autograder.cli import main

    assert main(["export", "csv", ASSIGNMENT, "--course", str(tmp_path / "course"),
                 "--out", str(tmp_path / "final.csv")]) == 2
    assert "is not in" in capsys.readouterr().err and not (tmp_path / "final.csv").exists()


@pytest.mark.slow
def test_an_ungradable_resubmission_scores_zero_and_keeps_the_manual_grade(tmp_path):
    """tiny_functions (tests/fixtures): graded with the grading API, the written answer
    graded as formgrader's GradeHandler.put does it, then a broken resubmission."""
    from autograder.course import prepare_course
    from autograder.gradebook import final_grades, record
    from autograder.grading import Options
    from autograder.grading import grade as grade_batch

    fixture, written = "tiny_functions", "answer_mean"
    course = prepare_course(tmp_path / "course", [fixture], FIXTURES / "assignments")
    submissions, out = tmp_path / "submissions", tmp_path / "out"
    (submissions / "alice").mkdir(parents=True)
    shutil.copy(course.source(fixture) / f"{fixture}.ipynb", submissions / "alice")  # the solution
    options = Options(workers=1, log=lambda line: None)
    record(course, grade_batch(course, fixture, submissions, out, options))
    [before] = final_grades(course, fixture)
    assert (before.auto_score, before.manual_score, before.pending) == (5.0, 0.0, [f"{fixture}/{written}"])

    with Gradebook(f"sqlite:///{course.gradebook}") as gb:  # formgrader's GradeHandler.put
        grade = gb.find_grade(written, fixture, fixture, "alice")
        grade.manual_score, grade.extra_credit = 1.0, None
        grade.needs_manual_grade = grade.manual_score is None and grade.auto_score is None
        gb.db.commit()

    (submissions / "alice" / f"{fixture}.ipynb").write_text("{ not json")
    done = record(course, grade_batch(course, fixture, submissions, out, options))
    [after] = final_grades(course, fixture)
    assert (after.auto_score, after.manual_score, after.total) == (0.0, 1.0, 1.0)
    assert after.pending == [f"{fixture}/{written}"] and done.to_review == [f"alice/{written}"]
    assert not (course.root / "autograded" / "alice" / fixture / f"{fixture}.ipynb").exists()


def test_a_new_gradebook_is_stamped_with_the_revision_alembic_reports(tmp_path):
    """The grader reads the newest revision of nbgrader's schema in its own process
    (autograder.nbgrader_cli.start_faster) instead of running ``alembic heads``: the same
    revision, and a gradebook made afterwards is stamped with it."""
    import sqlite3

    from nbgrader.dbutil import _temp_alembic_ini

    from autograder.nbgrader_cli import alembic_head, start_faster

    with _temp_alembic_ini(f"sqlite:///{tmp_path / 'other.db'}") as ini:
        heads = subprocess.run([str(Path(sys.executable).with_name("alembic")), "-c", ini, "heads"],
                               capture_output=True, text=True, check=True).stdout
    assert alembic_head() == heads.split()[0]
    start_faster()
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}"):
        pass
    with sqlite3.connect(tmp_path / "gradebook.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [(heads.split()[0],)]


def test_nbgraders_metadata_checks_reject_what_jsonschema_rejects(monkeypatch):
    """start_faster gives nbgrader's metadata validator a jsonschema that checks nbgrader's
    schema once per process: every cell is still validated, with jsonschema's own error."""
    import jsonschema
    import nbgrader.nbgraderformat.common as common
    from nbgrader.nbgraderformat import MetadataValidator

    from autograder.nbgrader_cli import MetadataSchema, start_faster

    start_faster()
    assert isinstance(common.jsonschema, MetadataSchema)
    good = {"grade": True, "solution": False, "locked": True, "points": 2, "grade_id": "test_1",
            "schema_version": 3}
    bad = [dict(good, points="all of them"), dict(good, grade_id=7), {k: v for k, v in good.items() if k != "locked"}]
    validator = MetadataValidator()
    validator.validate_cell(nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": good}))
    for metadata in bad:
        with pytest.raises(jsonschema.ValidationError) as caught:
            validator.validate_cell(nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": metadata}))
        with pytest.raises(jsonschema.ValidationError) as expected:
            jsonschema.validate(metadata, validator.schema)
        assert caught.value.message == expected.value.message and caught.value.path == expected.value.path

    checks = []
    cls = jsonschema.validators.validator_for(validator.schema)
    monkeypatch.setattr(cls, "check_schema", classmethod(lambda c, schema, *a, **k: checks.append(schema)))
    fresh = MetadataSchema()
    for _ in range(3):  # three validators, as three notebooks of a batch make
        fresh.validate(good, MetadataValidator().schema)
    with pytest.raises(jsonschema.ValidationError):
        fresh.validate(bad[0], MetadataValidator().schema)
    assert len(checks) == 1
