"""Bug: the child is started with subprocess.Popen([sys.executable, '-c', ...]) instead of os.fork(), so it is a new program with another command line, not a copy of the caller (breaks 'Forks exactly one child with os.fork(). The child is a copy of the caller (the same program, with the same arguments)')."""

import json
import os
import subprocess
import sys

_CHILD = r"""
import json, os, sys
gate, w = int(sys.argv[1]), int(sys.argv[2])
chunks = []
while True:
    b = os.read(gate, 65536)
    if not b:
        break
    chunks.append(b)
msg = json.dumps({"pid": os.getpid(), "ppid": os.getppid(), "token": b"".join(chunks).hex()}).encode()
while msg:
    msg = msg[os.write(w, msg):]
os._exit(0)
"""


def report_ids(gate: int) -> dict:
    r, w = os.pipe()
    p = subprocess.Popen([sys.executable, "-c", _CHILD, str(gate), str(w)], pass_fds=(gate, w))
    os.close(w)
    chunks = []
    while True:
        b = os.read(r, 65536)
        if not b:
            break
        chunks.append(b)
    os.close(r)
    os.waitpid(p.pid, 0)
    p.returncode = 0
    report = json.loads(b"".join(chunks))
    return {"child_pid": report["pid"], "child_ppid": report["ppid"],
            "parent_pid": os.getpid(), "token": bytes.fromhex(report["token"])}
