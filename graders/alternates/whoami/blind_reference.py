"""Style: the plain correct program of one who saw only the stub and the README. The mutants they wrote are
patches of it, one bug each (graders/mutants/whoami/*.patch): verify grades it as an alternate, so each patch is
exactly one bug away from a program that passes."""

import json
import os


def _read_all(fd):
    chunks = []
    while True:
        b = os.read(fd, 65536)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def report_ids(gate: int) -> dict:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            token = _read_all(gate)
            msg = json.dumps({"pid": os.getpid(), "ppid": os.getppid(), "token": token.hex()})
            _write_all(w, msg.encode())
            os.close(w)
        finally:
            os._exit(0)
    os.close(w)
    report = json.loads(_read_all(r))
    os.close(r)
    os.waitpid(pid, 0)
    return {"child_pid": report["pid"], "child_ppid": report["ppid"],
            "parent_pid": os.getpid(), "token": bytes.fromhex(report["token"])}
