"""The grader survives the student. Each hostile submission ends as a clean fail or
error of its own exercise, the other exercises still pass, nothing is left running, and the
run's time stays bounded."""

import glob
import os

import pytest
from conftest import EXERCISES, REPO, compose, grade

HOSTILE = os.path.join(os.path.dirname(__file__), "hostile")
RUN_BOUND = 45.0  # seconds for a whole four-exercise run with one hostile submission

# What the student must be told (a fragment of the first failure sentence).
EXPECTED = {
    "pipe_chain/kills_its_parent": "",  # the gated check sees the commands never ran; kill reported elsewhere
    "pipe_chain/kills_its_process_group": "process group",
    "pipe_chain/double_forks_a_daemon": "still running",
    # which check meets the exhausted budget first depends on timing: any of these is the truth
    "pipe_chain/forks_hundreds": ("BlockingIOError", "budget", "no process was running"),
    # flooding stdout may meet the file-size limit or the 1 s look for the commands first
    "pipe_chain/floods_stdout": ("File too large", "no process was running"),
    "pipe_chain/closes_every_fd": "close file descriptors",
    "pipe_chain/calls_sys_exit": "sys.exit(0)",
    "pipe_chain/calls_input": "input() was called",
    "pipe_chain/calls_breakpoint": "breakpoint() was called",
    "pipe_chain/ignores_sigterm_and_hangs": "no process was running any of the commands",
    "bank/hangs_at_import": "timed out",
    "bank/spins_forever": "timed out",
    "reaper/exits_at_import": "sys.exit(3)",
    "reaper/os_exit_at_import": "exited with status 0",
    "graceful_worker/ignores_sigterm": "",
    "graceful_worker/kills_its_parent": "",  # dies with its parent before the first check
}


def cases():
    found = sorted(os.path.relpath(p, HOSTILE)[:-3] for p in glob.glob(os.path.join(HOSTILE, "*", "*.py")))
    assert sorted(EXPECTED) == found, "tests/hostile/ and EXPECTED disagree"
    return found


@pytest.mark.parametrize("case", cases())
def test_hostile_submission_fails_cleanly(tmp_path, case):
    ident = case.split("/")[0]
    run = grade(tmp_path, "--target", os.path.join(REPO, "solutions"),
                "--submit", f"{ident}={compose(os.path.join(HOSTILE, case) + '.py', tmp_path)}")
    statuses = run.statuses()
    assert statuses.pop(ident) in ("fail", "error"), run.output
    assert statuses == {ex.id: "pass" for ex in EXERCISES if ex.id != ident}, (
        f"other exercises were hurt by {case}: {statuses}\n{run.output}")
    first = run.messages(ident)[0]
    expected = EXPECTED[case] if isinstance(EXPECTED[case], tuple) else (EXPECTED[case],)
    assert any(fragment in first for fragment in expected), f"{case}: the student is told {first!r}"
    assert run.seconds < RUN_BOUND, f"{case}: the run took {run.seconds:.1f} s"


def test_a_stuck_exercise_times_out_once_then_fails_fast(tmp_path):
    run = grade(tmp_path, "bank", "--submit", f"bank={os.path.join(HOSTILE, 'bank', 'hangs_at_import.py')}")
    messages = run.messages("bank")
    assert sum("timed out after" in m and "not run" not in m for m in messages) == 1, messages
    assert all("not run: an earlier test of bank timed out" in m for m in messages[1:]), messages
