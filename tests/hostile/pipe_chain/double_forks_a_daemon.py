# base: solutions/03_pipes/pipe_chain.py
"""Hostile: a correct pipeline (the reference solution, put in front of this file by the test) that also
leaves a double-forked daemon running. The daemon is held by the test's cgroup (or re-parented to the
grader's subreaper), reported as left running, and killed."""
import os

_reference_run_pipeline = run_pipeline  # noqa: F821 - defined by the base


def run_pipeline(commands, input=b""):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execvp("sleep", ["sleep", "1000"])
        os._exit(0)
    os.waitpid(-1, 0)
    return _reference_run_pipeline(commands, input)
