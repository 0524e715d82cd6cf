"""Correct alternate, style: multiprocessing with the "fork" start method and a one-way Pipe."""

import multiprocessing
import os

_ctx = multiprocessing.get_context("fork")


def _child(gate, conn):
    token = b""
    while True:
        b = os.read(gate, 4096)
        if not b:
            break
        token += b
    conn.send((os.getpid(), os.getppid(), token))
    conn.close()


def report_ids(gate: int) -> dict:
    rconn, wconn = _ctx.Pipe(duplex=False)
    p = _ctx.Process(target=_child, args=(gate, wconn))
    p.start()
    wconn.close()
    try:
        cpid, cppid, token = rconn.recv()
    finally:
        rconn.close()
        p.join()
        p.close()
    return {"child_pid": cpid, "child_ppid": cppid, "parent_pid": os.getpid(), "token": token}
