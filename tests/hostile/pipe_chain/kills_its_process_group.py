"""Hostile: kills its own process group (the grader must not be in it)."""
import os
import signal


def run_pipeline(commands, input=b""):
    os.killpg(0, signal.SIGKILL)
