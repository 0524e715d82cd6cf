"""the child ends by sending itself SIGKILL (to be sure no cleanup code runs) instead of os._exit(0), breaking 'then ends with os._exit(0)'."""

import mmap  # noqa: F401
import os

import signal


def cow_fork(size, fill, offsets, mark, checkpoint):
    buf = bytearray([fill]) * size
    pid = os.fork()
    if pid == 0:
        checkpoint("forked", buf)
        for off in offsets:
            buf[off] = mark
        checkpoint("written", buf)
        os.kill(os.getpid(), signal.SIGKILL)
    os.waitpid(pid, 0)
    return buf
