"""Correct alternate, style: fixed binary header (struct) and os.readv into a growing bytearray."""

import os
import struct

HDR = struct.Struct("<qqq")


def _read_exact(fd, n):
    buf = bytearray()
    while len(buf) < n:
        b = os.read(fd, n - len(buf))
        if not b:
            raise EOFError("report cut short")
        buf += b
    return bytes(buf)


def report_ids(gate: int) -> dict:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            token = bytearray()
            chunk = bytearray(8192)
            while True:
                n = os.readv(gate, [chunk])
                if n == 0:
                    break
                token += chunk[:n]
            data = HDR.pack(os.getpid(), os.getppid(), len(token)) + bytes(token)
            view = memoryview(data)
            while view:
                view = view[os.writev(w, [view]):]
            os.close(w)
        finally:
            os._exit(0)
    os.close(w)
    try:
        cpid, cppid, n = HDR.unpack(_read_exact(r, HDR.size))
        token = _read_exact(r, n)
        while os.read(r, 4096):
            pass
    finally:
        os.close(r)
        os.waitpid(pid, 0)
    return {"child_pid": cpid, "child_ppid": cppid, "parent_pid": os.getpid(), "token": token}
