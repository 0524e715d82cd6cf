"""Hostile: kills its parent process (which would be pytest without the warden)."""
import os
import signal


def run_pipeline(commands, input=b""):
    os.kill(os.getppid(), signal.SIGKILL)
    return b"", [0] * len(commands)
