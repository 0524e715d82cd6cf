"""Runs the whole pipeline through a shell: `sh -c "cmd1 | cmd2 | ..."`.

The commands become children of sh, not of the caller, and only the last command's status is
known: the others are reported as 0.
"""

import shlex
import subprocess


def run_pipeline(commands: list[list[str]], input: bytes = b"") -> tuple[bytes, list[int]]:
    if not commands:
        raise ValueError("run_pipeline needs at least one command")
    line = " | ".join(shlex.join(argv) for argv in commands)
    proc = subprocess.run(["sh", "-c", line], input=input, stdout=subprocess.PIPE)
    return proc.stdout, [0] * (len(commands) - 1) + [proc.returncode]
