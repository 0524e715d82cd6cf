"""Correct alternate, style: buffered file objects (os.fdopen) and pickle."""

import os
import pickle


def report_ids(gate: int) -> dict:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            with os.fdopen(gate, "rb", closefd=False) as g:
                token = g.read()
            with os.fdopen(w, "wb") as out:
                pickle.dump((os.getpid(), os.getppid(), token), out)
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as inp:
        cpid, cppid, token = pickle.load(inp)
        rest = inp.read()  # drain to end-of-file: the child has nothing more to say
        assert rest == b""
    os.waitpid(pid, 0)
    return {"child_pid": cpid, "child_ppid": cppid, "parent_pid": os.getpid(), "token": token}
