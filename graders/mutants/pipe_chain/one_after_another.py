"""Runs the commands one after another, passing each one's output to the next through Python.

Like filling a bytes.Buffer with one command's output before starting the next: the commands
never run at the same time, no pipe joins them, and `yes | head` never ends.
"""

import subprocess


def run_pipeline(commands: list[list[str]], input: bytes = b"") -> tuple[bytes, list[int]]:
    if not commands:
        raise ValueError("run_pipeline needs at least one command")
    data, codes = input, []
    for argv in commands:
        try:
            proc = subprocess.run(argv, input=data, stdout=subprocess.PIPE)
        except FileNotFoundError:
            data = b""
            codes.append(127)
            continue
        data = proc.stdout
        codes.append(proc.returncode)
    return data, codes
