"""Hostile (reaper): writes a conftest.py and a replacement grader into the grader's repository
(@REPO@ is filled in by the test), and edits the staged harness copies, to pass everything in this run
and the next. The repository is hidden from a separate user, and the stage is read-only to it."""
import glob
import os

REPO = "@REPO@"
PASSING = "def test_everything_passes():\n    pass\n"


def _scribble():
    for path in (f"{REPO}/graders/conftest.py", f"{REPO}/conftest.py", f"{REPO}/graders/02_states/test_reaper.py",
                 f"{REPO}/graders/harness/scoring.py", *glob.glob("/tmp/proclab-*-stage/graders/harness/*.py")):
        try:
            with open(path, "w") as f:
                f.write(PASSING)
        except OSError:
            pass


_scribble()


def install_reaper():
    _scribble()
    raise NotImplementedError("install_reaper")
