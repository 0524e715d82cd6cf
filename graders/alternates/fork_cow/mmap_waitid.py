"""Correct, style: explicit private anonymous mmap (MAP_PRIVATE | MAP_ANONYMOUS), filled with
mmap.write(), the child writes with seek()/write_byte(), the parent reaps its own child with os.waitid(P_PID)."""

import mmap
import os


def cow_fork(size, fill, offsets, mark, checkpoint):
    buf = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS,
                    prot=mmap.PROT_READ | mmap.PROT_WRITE)
    chunk = bytes([fill]) * (1 << 20)
    while buf.tell() < size:
        buf.write(chunk[: size - buf.tell()])
    pid = os.fork()
    if pid == 0:
        try:
            checkpoint("forked", buf)
            for off in offsets:
                buf.seek(off)
                buf.write_byte(mark)
            checkpoint("written", buf)
        finally:
            os._exit(0)
    os.waitid(os.P_PID, pid, os.WEXITED)
    return buf
