"""Correct alternate, style: the report is a marshal-encoded tuple of plain data (ints, bytes)."""

import marshal
import os
import threading


def report_ids(gate: int) -> dict:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            parts = []
            while True:
                b = os.read(gate, 512)
                if b == b"":
                    break
                parts.append(b)
            msg = marshal.dumps((os.getpid(), os.getppid(), b"".join(parts)))
            while msg:
                msg = msg[os.write(w, msg):]
        finally:
            os._exit(0)
    os.close(w)
    box = []

    def drain():
        parts = []
        while b := os.read(r, 65536):
            parts.append(b)
        box.append(b"".join(parts))

    t = threading.Thread(target=drain)
    t.start()
    t.join()
    os.close(r)
    os.waitpid(pid, 0)
    cpid, cppid, token = marshal.loads(box[0])
    return {"child_pid": cpid, "child_ppid": cppid, "parent_pid": os.getpid(), "token": token}
