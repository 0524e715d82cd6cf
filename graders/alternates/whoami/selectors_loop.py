"""Correct alternate, style: the parent reads the report with selectors and a non-blocking fd."""

import ast
import os
import selectors


def report_ids(gate: int) -> dict:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            token = b""
            while chunk := os.read(gate, 1024):
                token += chunk
            msg = repr((os.getpid(), os.getppid(), token)).encode()
            while msg:
                msg = msg[os.write(w, msg):]
            os.close(w)
        finally:
            os._exit(0)
    os.close(w)
    os.set_blocking(r, False)
    data = bytearray()
    sel = selectors.DefaultSelector()
    try:
        sel.register(r, selectors.EVENT_READ)
        done = False
        while not done:
            for _key, _ev in sel.select():
                try:
                    b = os.read(r, 65536)
                except BlockingIOError:
                    continue
                if not b:
                    done = True
                data += b
    finally:
        sel.close()
        os.close(r)
    os.waitpid(pid, 0)
    cpid, cppid, token = ast.literal_eval(data.decode())
    return {"child_pid": cpid, "child_ppid": cppid, "parent_pid": os.getpid(), "token": token}
