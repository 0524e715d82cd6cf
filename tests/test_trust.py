"""A grade that only a correct solution can earn: one hostile submission per attack class
(tests/trust/), each graded beside a correct exercise. Each must end not-pass with 0 points (flagged
where it reached for the grader), leave the other exercise's verdict alone, leave nothing running or
on disk, and finish in bounded time.

As root these run in separate-user mode (every guarantee below). test_same_user_mode_fails_closed
runs the attacks that still apply as an unprivileged user, where only these hold: the run fails
closed (a killed pytest gives errors, never passes), signed frames and the audit hook still reject
forged results and introspection, graded files are checked, reports are sanitised. What a same-user
submission can do to its own user's files and processes is not stopped there (say so in reports).
"""

import base64
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

import pytest
from conftest import REPO, compose, grade

from graders.harness import identity

TRUST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "trust")
SOLUTIONS = os.path.join(REPO, "solutions")
RUN_BOUND = 40.0
ROOT = os.geteuid() == 0
needs_root = pytest.mark.skipif(not ROOT, reason="separate-user mode needs root")


def hostile(tmp_path, name: str, **fill) -> str:
    """The hostile file, with its base in front and @REPO@ filled in (a real attacker knows where the
    grader's checkout is)."""
    fill = {"@REPO@": REPO, **{f"@{k.upper()}@": v for k, v in fill.items()}}
    return compose(os.path.join(TRUST, f"{name}.py"), tmp_path, fill)


def submission_processes() -> list[str]:
    """Processes of a separate-user uid whose grading run (pytest, pid uid - UID_BASE) has ended:
    none may outlive its run. (Runs still going, e.g. on another worker, are not judged here.)"""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            uid = os.stat(f"/proc/{pid}").st_uid
            if uid >= identity.UID_BASE and not os.path.exists(f"/proc/{uid - identity.UID_BASE}"):
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    found.append(f"{pid}: {f.read()[:80]!r}")
        except OSError:
            pass
    return found


def attack(tmp_path, case: str, ident: str = "reaper", control: str = "bank", env=None, **fill):
    run = grade(tmp_path, ident, control, "--target", SOLUTIONS,
                "--submit", f"{ident}={hostile(tmp_path, case, **fill)}", env=env)
    entry = run.entry(ident)
    assert entry["status"] != "pass" and entry["score"] == 0, f"{case} earned {entry['score']}: {entry}"
    assert run.status(control) == "pass", f"{case} changed the verdict of {control}: {run.entry(control)}"
    assert run.returncode != 0
    assert run.seconds < RUN_BOUND, f"{case}: the run took {run.seconds:.1f} s"
    left = submission_processes()
    assert not left, f"{case} left processes running: {left}"
    return run, entry


@needs_root
def test_an_escaped_thread_cannot_outlive_the_test_or_rewrite_results(tmp_path):
    run, entry = attack(tmp_path, "escaped_thread")
    assert run.report["isolation"] == "separate-user"
    assert entry["flags"], "opening another process's result pipe must be flagged"
    time.sleep(1.0)  # had anything survived, it would rewrite report.json now
    with open(tmp_path / "grade" / "report.json") as f:
        assert json.load(f)["exercises"][0]["score"] == 0


@needs_root
def test_killing_the_graders_ancestors_reaches_nothing_but_its_own_warden(tmp_path):
    run, entry = attack(tmp_path, "kills_pytest")
    assert "crashed" not in run.report, run.report.get("crashed")


@needs_root
def test_forged_frames_are_rejected_and_flagged(tmp_path):
    _, entry = attack(tmp_path, "forges_frames")
    assert any("signature" in f for f in entry["flags"]), entry["flags"]


@needs_root
def test_reaching_into_the_graders_frames_and_objects_is_flagged(tmp_path):
    _, entry = attack(tmp_path, "introspects")
    assert any("sys._getframe" in f for f in entry["flags"]), entry["flags"]


@needs_root
def test_patching_the_modules_the_scenario_observes_with_is_flagged(tmp_path):
    _, entry = attack(tmp_path, "patches_modules")
    assert any("os.waitpid" in f for f in entry["flags"]), entry["flags"]


@needs_root
def test_a_stack_walk_through_inspect_is_the_students_own_and_is_flagged(tmp_path):
    _, entry = attack(tmp_path, "walks_the_stack")
    assert entry["flags"], entry


@needs_root
def test_a_stopped_warden_does_not_hide_a_leftover_daemon(tmp_path):
    _, entry = attack(tmp_path, "stops_its_warden")
    assert any("warden" in t["message"] or "still running" in t["message"] for t in entry["tests"]), entry["tests"]


@needs_root
def test_shared_folders_are_private_to_the_sandbox(tmp_path):
    attack(tmp_path, "floods_shared_folders")
    left = [p for folder in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")
            for p in glob.glob(os.path.join(folder, "proclab-hostile-flood*"))]
    assert not left, f"{len(left)} files reached the machine's shared folders, e.g. {left[:2]}"


def test_stdout_without_newlines_cannot_exhaust_the_grader(tmp_path):
    _, entry = attack(tmp_path, "floods_stdout_without_newline", ident="graceful_worker")
    # attack() bounds the run's time; the grader reads at most 1 MiB without a newline (8 MiB unread)
    assert entry["status"] == "fail", entry["tests"]


@needs_root
def test_the_stage_is_readable_by_its_own_run_only():
    """Another submission graded at the same time (another uid and gid) cannot read this run's copies."""
    ident = identity.Identity()
    try:
        ident.student("reaper.py", b"secret = 1\n")
        for folder, _, files in os.walk(ident.base):
            for path in [folder, *(os.path.join(folder, f) for f in files)]:
                info = os.stat(path)
                assert info.st_uid == 0 and info.st_gid == ident.gid, path
                assert not info.st_mode & 0o007, f"{path} is open to other users: {oct(info.st_mode)}"
    finally:
        ident.close()


@needs_root
@pytest.mark.parametrize("mode", ["patch", "compile", "marshal"])
def test_stealing_the_signed_writer_is_flagged(tmp_path, mode):
    _, entry = attack(tmp_path, "steals_the_writer", ident="bank", control="reaper", mode=mode)
    assert entry["flags"], entry


def test_a_correct_solution_in_a_natural_style_is_not_flagged(tmp_path):
    run = grade(tmp_path, "bank", "--target", SOLUTIONS, "--submit", f"bank={hostile(tmp_path, 'natural_style_bank')}")
    entry = run.entry("bank")
    assert entry["status"] == "pass" and not entry["flags"], entry


def _tree_digest(folder: str) -> str:
    digest = hashlib.sha256()
    for path in sorted(glob.glob(os.path.join(folder, "**", "*"), recursive=True)):
        if "__pycache__" in path or not os.path.isfile(path):
            continue
        digest.update(path.encode())
        with open(path, "rb") as f:
            digest.update(f.read())
    return digest.hexdigest()


@needs_root
def test_the_graders_cannot_be_written_from_a_submission(tmp_path):
    before = _tree_digest(os.path.join(REPO, "graders"))
    attack(tmp_path, "writes_graders")
    assert not os.path.exists(os.path.join(REPO, "graders", "conftest.py"))
    assert not os.path.exists(os.path.join(REPO, "conftest.py"))
    assert _tree_digest(os.path.join(REPO, "graders")) == before, "a submission changed graders/"


@needs_root
def test_the_solutions_cannot_be_read_from_a_submission(tmp_path):
    _, entry = attack(tmp_path, "reads_solutions", ident="pipe_chain", control="reaper")
    assert "No such file" in entry["tests"][0]["message"] or "Permission" in entry["tests"][0]["message"]


@needs_root
def test_moving_to_the_root_cgroup_does_not_lift_the_process_budget(tmp_path):
    _, entry = attack(tmp_path, "escapes_cgroup")
    assert any("budget" in t.get("message", "") for t in entry["tests"]), entry["tests"]


@needs_root
def test_leftovers_outside_tmpdir_are_removed(tmp_path):
    attack(tmp_path, "leaves_leftovers")
    left = glob.glob("/tmp/proclab-hostile-leftover*") + glob.glob("/var/tmp/proclab-hostile-leftover*") + \
        glob.glob("/dev/shm/proclab-hostile-leftover*")
    assert not left, f"left on disk: {left}"
    with open("/proc/sysvipc/shm") as f:
        rows = [line.split() for line in f.read().splitlines()[1:]]
    assert not [r for r in rows if int(r[9]) >= identity.UID_BASE], "a System V segment of the submission is left"


@needs_root
def test_other_processes_ipc_objects_survive_the_cleanup(tmp_path):
    """Objects that another program creates while a test runs are not the submission's to lose."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    out = tmp_path / "grade"
    proc = subprocess.Popen([sys.executable, "-m", "graders.harness", "grade", "-q", "bank", "--target", SOLUTIONS,
                             "--out", str(out)], cwd=REPO)
    shm = f"/dev/shm/proclab-unrelated-{os.getpid()}"
    segment = None
    try:
        import psutil
        deadline = time.monotonic() + 20
        while True:  # this run's pytest (a child of the grading command) has a test's private folder
            kids = [p.pid for p in psutil.Process(proc.pid).children()] if proc.poll() is None else []
            if any(glob.glob(f"/run/proclab-{k}/tmp-*") for k in kids):
                break
            assert time.monotonic() < deadline and proc.poll() is None, "grading never started a test"
            time.sleep(0.005)
        with open(shm, "w") as f:
            f.write("someone else's")
        segment = libc.shmget(0, 4096, 0o1600)
        assert proc.wait(timeout=60) == 0
        assert os.path.exists(shm), "the cleanup removed another program's /dev/shm file"
        assert libc.shmctl(segment, 2, ctypes.create_string_buffer(256)) >= 0, "another program's segment is gone"
    finally:
        if proc.poll() is None:
            proc.kill()
        if os.path.exists(shm):
            os.unlink(shm)
        if segment is not None and segment >= 0:
            libc.shmctl(segment, 0, None)


def test_graded_files_must_be_regular_files_inside_the_submission(tmp_path):
    tree = tmp_path / "tree"
    shutil.copytree(SOLUTIONS, tree)
    os.unlink(tree / "03_pipes" / "pipe_chain.py")
    os.mkfifo(tree / "03_pipes" / "pipe_chain.py")
    os.unlink(tree / "02_states" / "reaper.py")
    os.symlink(os.path.join(SOLUTIONS, "02_states", "reaper.py"), tree / "02_states" / "reaper.py")
    run = grade(tmp_path, "--target", str(tree))
    assert run.seconds < RUN_BOUND
    pipes, reaper = run.entry("pipe_chain"), run.entry("reaper")
    assert pipes["status"] == "error" and "FIFO" in pipes["tests"][0]["message"], pipes["tests"][0]
    assert reaper["status"] == "error" and "outside" in reaper["tests"][0]["message"], reaper["tests"][0]
    assert run.status("bank") == run.status("graceful_worker") == "pass"


def test_a_huge_hostile_message_cannot_spoof_or_break_the_reports(tmp_path):
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs"
    run = attack(tmp_path, "huge_message", env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary),
                                                "GITHUB_OUTPUT": str(outputs)})[0]
    assert os.path.getsize(tmp_path / "grade" / "report.json") < 200_000
    for line in run.output.splitlines():
        assert not line.startswith("::") or line.startswith("::error file="), f"a spoofed runner command: {line!r}"
        assert "::stop-commands::" not in line.partition("::")[2].partition("::")[0]
    text = summary.read_text()
    assert text.count("Score:") == 1 and "<!--" not in text and "\x1b" not in text
    for line in outputs.read_text().splitlines():
        json.loads(base64.b64decode(line.partition("=")[2]))
    from xml.etree import ElementTree
    ElementTree.parse(tmp_path / "grade" / "junit.xml")


def test_same_user_mode_fails_closed_and_still_rejects_forgery(nobody, tmp_path):
    """As an unprivileged user (a student's laptop): killing pytest and the grading command leaves the
    fail-closed report (every exercise an error, 0 points); forged frames, introspection and bad graded
    files are still caught; the report says same-user."""
    def submit(case, ident="reaper"):
        path = os.path.join(nobody.repo, "tests", "trust", f"{case}.py")
        return ident, "bank", "--target", "solutions", "--submit", f"{ident}={path}"

    code, entries, report = nobody(*submit("kills_pytest"))
    assert code != 0 and report["score"] == 0, report
    assert {e["status"] for e in entries.values()} == {"error"}, entries
    assert report["isolation"] == "same-user"
    for case, flag in (("forges_frames", "signature"), ("introspects", "sys._getframe")):
        code, entries, report = nobody(*submit(case))
        assert report["isolation"] == "same-user"
        assert entries["reaper"]["score"] == 0 and any(flag in f for f in entries["reaper"]["flags"]), entries
        assert entries["bank"]["status"] == "pass", entries["bank"]


@needs_root
def test_a_submission_cannot_stop_the_gradebook_or_touch_a_classmate(tmp_path):
    """A gradebook of two: the attacker's reaper kills every ancestor it can find and tries to read the
    classmate's and the instructor's files; the classmate's grade and the CSV are untouched."""
    import csv
    folder = tmp_path / "submissions"
    shutil.copytree(SOLUTIONS, folder / "classmate" / "exercises")
    shutil.copytree(os.path.join(REPO, "exercises"), folder / "attacker" / "exercises")
    shutil.copy(hostile(tmp_path, "kills_pytest"), folder / "attacker" / "exercises" / "02_states" / "reaper.py")
    book = tmp_path / "book.csv"
    proc = subprocess.run([sys.executable, "-m", "graders.harness", "gradebook", str(folder), "--csv", str(book)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    with open(book) as f:
        rows = {row["submission"]: row for row in csv.DictReader(f)}
    assert set(rows) == {"attacker", "classmate"}
    assert float(rows["classmate"]["score"]) == float(rows["classmate"]["max_score"]) > 0, rows["classmate"]
    assert float(rows["attacker"]["reaper"]) == 0
    assert rows["attacker"]["isolation"] == rows["classmate"]["isolation"] == "separate-user"
    assert not submission_processes()
