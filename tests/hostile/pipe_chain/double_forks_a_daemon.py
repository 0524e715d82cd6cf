"""Hostile: a correct pipeline that also leaves a double-forked daemon running.

The daemon is re-parented to the grader's subreaper, reported as left running, and killed.
"""
import importlib.util
import os

_here = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "reference", os.path.join(_here, "..", "..", "..", "solutions", "03_pipes", "pipe_chain.py"))
_reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_reference)


def run_pipeline(commands, input=b""):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execvp("sleep", ["sleep", "1000"])
        os._exit(0)
    os.waitpid(-1, 0)
    return _reference.run_pipeline(commands, input)
