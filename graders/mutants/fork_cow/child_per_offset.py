"""forks one child per offset (each writes one byte), breaking 'Forks exactly one child'."""

import mmap  # noqa: F401
import os

def cow_fork(size, fill, offsets, mark, checkpoint):
    buf = bytearray([fill]) * size
    for off in offsets:
        pid = os.fork()
        if pid == 0:
            checkpoint("forked", buf)
            buf[off] = mark
            checkpoint("written", buf)
            os._exit(0)
        os.waitpid(pid, 0)
    return buf
