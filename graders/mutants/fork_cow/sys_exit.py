"""the child ends with sys.exit(0), which raises SystemExit into the caller's code, breaking 'ends with os._exit(0). It never returns, nor raises, into the code that called cow_fork'."""

import mmap  # noqa: F401
import os

import sys


def cow_fork(size, fill, offsets, mark, checkpoint):
    buf = bytearray([fill]) * size
    pid = os.fork()
    if pid == 0:
        checkpoint("forked", buf)
        for off in offsets:
            buf[off] = mark
        checkpoint("written", buf)
        sys.exit(0)
    os.waitpid(pid, 0)
    return buf
