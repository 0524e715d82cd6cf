"""Hostile: closes every file descriptor, the grader's result pipe included."""
import os


def run_pipeline(commands, input=b""):
    os.closerange(0, 65536)
    return b"", [0] * len(commands)
