"""the child returns its buffer instead of ending with os._exit(0), so it comes back into the caller's code, breaking 'then ends with os._exit(0). It never returns ... into the code that called cow_fork'."""

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
        return buf
    os.waitpid(pid, 0)
    return buf
