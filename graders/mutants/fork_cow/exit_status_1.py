"""the child ends with os._exit(1) ('done'), breaking 'then ends with os._exit(0)'."""

import mmap  # noqa: F401
import os

def cow_fork(size, fill, offsets, mark, checkpoint):
    buf = bytearray([fill]) * size
    pid = os.fork()
    if pid == 0:
        checkpoint("forked", buf)
        for off in offsets:
            buf[off] = mark
        checkpoint("written", buf)
        os._exit(1)
    os.waitpid(pid, 0)
    return buf
