"""The gradebook: graded files read safely, each submission from a private copy, a CSV row for everyone always."""

import csv
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import psutil
import pytest
from conftest import REPO

from graders.harness import batch, cleanup
from graders.harness.submission import BadSubmission, private_copy, read_graded_file

REL = "exercises/03_pipes/pipe_chain.py"
COPY_IGNORE = shutil.ignore_patterns("__pycache__")


def _refusal(root, relpath=REL, **kwargs) -> str:
    """The sentence read_graded_file refuses with; fails the test if it blocks for 5 s or accepts."""
    outcome = []

    def read():
        try:
            outcome.append(read_graded_file(str(root), relpath, **kwargs))
        except BadSubmission as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(5)
    assert outcome, "read_graded_file blocked"
    assert isinstance(outcome[0], BadSubmission), f"accepted: {outcome[0][:60]!r}"
    return outcome[0].message


@pytest.fixture
def sub(tmp_path):
    """A submission whose exercises/03_pipes folder is there but empty."""
    (tmp_path / "sub" / "exercises" / "03_pipes").mkdir(parents=True)
    return tmp_path / "sub"


def test_a_regular_file_is_read(sub):
    (sub / REL).write_bytes(b"print('hi')\n")
    assert read_graded_file(str(sub), REL) == b"print('hi')\n"


def test_a_missing_file_is_refused(sub):
    assert _refusal(sub) == f"{REL} is missing: git checkout -- {REL} restores the stub"


def test_a_fifo_is_refused_without_waiting_for_a_writer(sub):
    os.mkfifo(sub / REL)
    message = _refusal(sub)
    assert message.startswith(f"{REL} is a named pipe (FIFO), not a regular file: graded files must be ordinary")
    assert f"git checkout -- {REL} restores the stub" in message


def test_a_socket_is_refused(sub):
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(sub / REL))
        assert _refusal(sub).startswith(f"{REL} is a socket, not a regular file")


def test_a_folder_is_refused(sub):
    (sub / REL).mkdir()
    assert _refusal(sub).startswith(f"{REL} is a folder, not a regular file")


def test_a_symlink_to_dev_null_is_refused(sub):
    os.symlink("/dev/null", sub / REL)
    assert _refusal(sub).startswith(f"{REL} is a symbolic link to /dev/null outside your submission")


def test_a_symlink_to_a_file_outside_is_refused(sub, tmp_path):
    (tmp_path / "theirs.py").write_text("print('not mine')\n")
    os.symlink(tmp_path / "theirs.py", sub / REL)
    assert _refusal(sub).startswith(f"{REL} is a symbolic link to {tmp_path / 'theirs.py'} outside your submission")


def test_a_symlinked_folder_leaving_the_submission_is_refused(sub, tmp_path):
    classmate = tmp_path / "classmate" / "exercises" / "03_pipes"
    classmate.mkdir(parents=True)
    (classmate / "pipe_chain.py").write_text("print('their work')\n")
    os.rmdir(sub / "exercises" / "03_pipes")
    os.symlink("../../classmate/exercises/03_pipes", sub / "exercises" / "03_pipes")
    message = _refusal(sub)
    assert message.startswith("exercises/03_pipes is a symbolic link to ../../classmate/exercises/03_pipes "
                              f"outside your submission, so {REL} is not in your submission")


def test_a_symlink_that_stays_inside_is_read(sub):
    (sub / "mine.py").write_bytes(b"print('mine')\n")
    os.symlink("../../mine.py", sub / REL)
    assert read_graded_file(str(sub), REL) == b"print('mine')\n"
    os.symlink(sub, sub.parent / "linked")  # the submission folder itself may be a link
    assert read_graded_file(str(sub.parent / "linked"), REL) == b"print('mine')\n"


def test_a_file_over_the_limit_is_refused(sub):
    (sub / REL).write_bytes(b"#" * 101)
    assert _refusal(sub, limit=100).startswith(f"{REL} is larger than 100 bytes")
    assert read_graded_file(str(sub), REL, limit=101) == b"#" * 101
    (sub / REL).write_bytes(b"#" * ((1 << 20) + 1))
    assert _refusal(sub).startswith(f"{REL} is larger than 1048576 bytes")


def test_the_layout_without_exercises_is_named_as_the_student_sees_it(tmp_path):
    assert _refusal(tmp_path, "03_pipes/pipe_chain.py").startswith(f"{REL} is missing")


def test_private_copy_copies_what_is_accepted_and_reports_the_rest(sub, tmp_path):
    (sub / "exercises" / "02_states").mkdir()
    (sub / "exercises" / "02_states" / "reaper.py").write_text("print('reaper')\n")
    os.chmod(sub / "exercises" / "02_states" / "reaper.py", 0o600)
    os.mkfifo(sub / REL)
    dest = tmp_path / "copy"
    dest.mkdir()
    refused = private_copy(str(sub), str(dest), ["exercises/02_states/reaper.py", REL])
    assert list(refused) == [REL] and "named pipe (FIFO)" in refused[REL]
    copied = dest / "exercises" / "02_states" / "reaper.py"
    assert copied.read_text() == "print('reaper')\n"
    assert copied.stat().st_mode & 0o7777 == 0o644 and not copied.is_symlink()
    for folder in (dest / "exercises", dest / "exercises" / "02_states"):
        assert folder.stat().st_mode & 0o7777 == 0o755
    assert not (dest / "exercises" / "03_pipes").exists()


# The gradebook, with a stand-in for `grade` (fast, and independent of the grading harness itself).

FAKE_GRADE = """
import argparse, json, os, subprocess, sys, time
from graders.harness import catalogue
p = argparse.ArgumentParser()
p.add_argument("--quiet", action="store_true")
p.add_argument("--target")
p.add_argument("--out")
p.add_argument("--hide", action="append", default=[])
args = p.parse_args()
texts = {}
for ex in catalogue.load():
    try:
        with open(ex.path_in(args.target)) as f:
            texts[ex.id] = f.read()
    except OSError:
        texts[ex.id] = ""
everything = "".join(texts.values())
if "HANG" in everything:
    child = subprocess.Popen(["sleep", "60"], start_new_session=True)
    with open(os.environ["FAKE_PIDFILE"], "w") as f:
        f.write(str(child.pid))
    time.sleep(60)
if "NOREPORT" in everything:
    sys.exit("boom: no report today")
with open(os.path.join(args.out, "report.json"), "w") as f:
    if "BADREPORT" in everything:
        f.write("[1, 2")
    else:
        entries = [{"id": i, "status": "pass" if "PASS" in t else "todo", "score": 10 if "PASS" in t else 0,
                    **({"flags": ["wrote outside its folder"]} if "FLAG" in t else {})} for i, t in texts.items()]
        json.dump({"score": 0, "max_score": 40, "exercises": entries, "isolation": "hide " + " ".join(args.hide)}, f)
"""


def _submission(root, name: str, files: dict) -> None:
    for relpath, text in files.items():
        path = root / name / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture
def fake(tmp_path, monkeypatch):
    script = tmp_path / "fake_grade.py"
    script.write_text(FAKE_GRADE)
    monkeypatch.setattr(batch, "GRADE_COMMAND", [sys.executable, str(script)])
    monkeypatch.setenv("FAKE_PIDFILE", str(tmp_path / "grandchild.pid"))
    monkeypatch.setenv("PYTHONPATH", REPO)
    root = tmp_path / "subs"
    root.mkdir()
    return root


def _rows(path) -> dict:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [row["submission"] for row in rows] == sorted(row["submission"] for row in rows)
    return {row["submission"]: row for row in rows}


@pytest.mark.timeout(30)
def test_gradebook_rows_flags_isolation_and_errors(fake, tmp_path, capsys, monkeypatch):
    _submission(fake, "ann", {"exercises/02_states/reaper.py": "PASS", "exercises/03_pipes/pipe_chain.py": "PASS FLAG",
                              "exercises/04_signals/graceful_worker.py": "", "exercises/05_sync/bank.py": ""})
    _submission(fake, "ben", {"02_states/reaper.py": "PASS"})  # the exercise tree directly
    _submission(fake, "cat", {"exercises/02_states/reaper.py": "NOREPORT"})
    _submission(fake, "dan", {"exercises/02_states/reaper.py": "BADREPORT"})
    _submission(fake, "eve", {"exercises/02_states/reaper.py": "PASS"})
    (fake / "eve" / "exercises" / "04_signals").mkdir()
    os.mkfifo(fake / "eve" / "exercises" / "04_signals" / "graceful_worker.py")
    (fake / ".hidden").mkdir()
    (fake / "notes.txt").write_text("not a submission")
    monkeypatch.setattr(batch.os, "geteuid", lambda: 1000)
    book = tmp_path / "book.csv"
    assert batch.gradebook(str(fake), str(book), jobs=2) == 0
    rows = _rows(book)
    assert list(rows) == ["ann", "ben", "cat", "dan", "eve"]
    assert list(next(iter(rows.values()))) == ["submission", "reaper", "pipe_chain", "graceful_worker", "bank",
                                              "score", "max_score", "statuses", "flags", "isolation", "error"]
    ann = rows["ann"]
    assert (ann["reaper"], ann["pipe_chain"], ann["score"], ann["max_score"]) == ("10", "10", "20", "40")
    assert ann["statuses"] == "reaper=pass pipe_chain=pass graceful_worker=todo bank=todo"
    assert ann["flags"] == "pipe_chain: wrote outside its folder" and ann["error"] == ""
    assert ann["isolation"] == f"hide {os.path.realpath(fake)} {os.path.join(REPO, 'solutions')}"
    assert rows["ben"]["score"] == "10"
    assert rows["cat"]["statuses"] == "reaper=error pipe_chain=error graceful_worker=error bank=error"
    assert rows["cat"]["error"] == "the grading run wrote no report.json (exit code 1: boom: no report today)"
    assert rows["dan"]["error"].startswith("report.json cannot be read")
    eve = rows["eve"]
    assert eve["score"] == "10" and "graceful_worker=error" in eve["statuses"]
    assert "; graceful_worker: exercises/04_signals/graceful_worker.py is a named pipe (FIFO)" in eve["flags"]
    assert eve["flags"].startswith("pipe_chain: exercises/03_pipes/pipe_chain.py is missing: git checkout")
    err = capsys.readouterr().err
    assert err.startswith("warning: not running as root, so graded code runs as your own user (same-user mode)")
    assert re.search(r"^\[1/5\] \w+: \d+/40.* \(\d+\.\d s\), about \d+ s left$", err, re.M), err
    assert re.search(r"^\[5/5\] \w+: \d+/40.* \(\d+\.\d s\)$", err, re.M), err
    assert f"5 submissions graded into {book} in " in err


@pytest.mark.timeout(30)
def test_a_hanging_grading_is_killed_with_everything_it_started(fake, tmp_path, monkeypatch, capsys):
    _submission(fake, "hang", {"exercises/02_states/reaper.py": "HANG"})
    _submission(fake, "ok", {"exercises/02_states/reaper.py": "PASS"})
    monkeypatch.setattr(batch, "BOUND_BASE", 1.5)
    monkeypatch.setattr(batch, "BOUND_PER_TIMEOUT", 0)
    book = tmp_path / "book.csv"
    started = time.monotonic()
    batch.gradebook(str(fake), str(book), jobs=2)
    assert time.monotonic() - started < 10
    rows = _rows(book)
    assert rows["hang"]["error"] == "grading did not finish within 1.5 s" and rows["ok"]["score"] == "10"
    grandchild = int((tmp_path / "grandchild.pid").read_text())
    cleanup.reap_zombies()  # it was re-parented to this test process, the subreaper
    assert not psutil.pid_exists(grandchild) or psutil.Process(grandchild).status() == psutil.STATUS_ZOMBIE
    assert re.search(r"^\[\d/2\] hang: 0/40, grading did not finish within 1.5 s \(1\.\d s\)", capsys.readouterr().err,
                     re.M)


@pytest.mark.timeout(30)
def test_an_exception_in_one_submission_stops_no_other(fake, tmp_path, monkeypatch):
    _submission(fake, "ann", {"exercises/02_states/reaper.py": "PASS"})
    _submission(fake, "bob", {"exercises/02_states/reaper.py": "PASS"})
    real_copy = batch.private_copy

    def copy(src, dest, relpaths):
        if src.endswith("bob"):
            raise PermissionError(13, "Permission denied")
        return real_copy(src, dest, relpaths)

    monkeypatch.setattr(batch, "private_copy", copy)
    book = tmp_path / "book.csv"
    assert batch.gradebook(str(fake), str(book), jobs=1) == 0
    rows = _rows(book)
    assert rows["ann"]["score"] == "10"
    assert rows["bob"]["error"] == ("the gradebook failed on this submission: "
                                    "PermissionError: [Errno 13] Permission denied")


# The gradebook for real: the CLI grading whole submissions.


def _cli(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "graders.harness", "gradebook", *args], cwd=REPO,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)


def _no_leftovers():
    left = cleanup.living_descendants()
    cleanup.kill_descendants()
    assert not left, f"the gradebook left processes running: {[p.cmdline() for p in left]}"


@pytest.mark.timeout(90)
def test_gradebook_grades_each_submission_from_its_own_copy(tmp_path):
    """Four submissions: solved, untouched, a FIFO exercise file, a 03_pipes folder linked to a classmate's."""
    root = tmp_path / "submissions"
    shutil.copytree(os.path.join(REPO, "solutions"), root / "alice" / "exercises", ignore=COPY_IGNORE)
    shutil.copytree(os.path.join(REPO, "exercises"), root / "bob" / "exercises", ignore=COPY_IGNORE)
    shutil.copytree(os.path.join(REPO, "solutions"), root / "carol", ignore=COPY_IGNORE)  # the tree directly
    os.unlink(root / "carol" / "03_pipes" / "pipe_chain.py")
    os.mkfifo(root / "carol" / "03_pipes" / "pipe_chain.py")
    shutil.copytree(os.path.join(REPO, "exercises"), root / "dave" / "exercises", ignore=COPY_IGNORE)
    shutil.rmtree(root / "dave" / "exercises" / "03_pipes")
    os.symlink("../../alice/exercises/03_pipes", root / "dave" / "exercises" / "03_pipes")
    dest = tmp_path / "book.csv"
    proc = _cli(str(root), "--csv", str(dest), "--jobs", "2", text=True)
    _, err = proc.communicate(timeout=80)
    _no_leftovers()
    assert proc.returncode == 0, err
    rows = _rows(dest)
    assert list(rows) == ["alice", "bob", "carol", "dave"]

    alice, bob, carol, dave = rows.values()
    assert alice["statuses"] == "reaper=pass pipe_chain=pass graceful_worker=pass bank=pass", alice
    assert float(alice["score"]) == float(alice["max_score"]) == 40
    assert bob["statuses"] == "reaper=todo pipe_chain=todo graceful_worker=todo bank=todo", bob
    assert float(bob["score"]) == 0

    assert carol["statuses"] == "reaper=pass pipe_chain=error graceful_worker=pass bank=pass", carol
    assert float(carol["pipe_chain"]) == 0 and float(carol["score"]) == 30
    assert carol["flags"].startswith(f"pipe_chain: {REL} is a named pipe (FIFO), not a regular file")

    assert dave["statuses"] == "reaper=todo pipe_chain=error graceful_worker=todo bank=todo", dave
    assert float(dave["pipe_chain"]) == 0 and float(dave["score"]) == 0  # alice's marks are not his
    assert dave["flags"].startswith("pipe_chain: exercises/03_pipes is a symbolic link to ../../alice/exercises/"
                                    "03_pipes outside your submission")

    for name in rows:
        assert re.search(rf"^\[[1-4]/4\] {name}: [\d.]+/40 \(\d+\.\d s\)", err, re.M), err
    assert re.search(rf"^4 submissions graded into {re.escape(str(dest))} in \d+\.\d s$", err, re.M), err


@pytest.mark.timeout(60)
def test_a_killed_gradebook_leaves_a_row_for_everyone(tmp_path):
    root = tmp_path / "submissions"
    for name in ("amy", "bea", "cy"):
        shutil.copytree(os.path.join(REPO, "exercises"), root / name / "exercises", ignore=COPY_IGNORE)
    dest = tmp_path / "book.csv"
    proc = _cli(str(root), "--csv", str(dest), "--jobs", "1")
    seen, deadline = b"", time.monotonic() + 40
    try:
        while b"[1/3] " not in seen and time.monotonic() < deadline and proc.poll() is None:
            if select.select([proc.stderr], [], [], 0.5)[0]:
                seen += os.read(proc.stderr.fileno(), 4096)
        assert b"[1/3] amy: 0/40" in seen, seen
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
        cleanup.kill_descendants()  # its gradings in progress, re-parented to this test process
    rows = _rows(dest)
    assert list(rows) == ["amy", "bea", "cy"]
    assert rows["amy"]["statuses"] == "reaper=todo pipe_chain=todo graceful_worker=todo bank=todo"
    for name in ("bea", "cy"):
        assert rows[name]["error"] == "not graded: the gradebook was interrupted"
        assert rows[name]["statuses"] == "reaper=error pipe_chain=error graceful_worker=error bank=error"
