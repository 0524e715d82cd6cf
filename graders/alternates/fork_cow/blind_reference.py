"""Style: the plain correct program of one who saw only the stub and the README. The mutants they wrote are
patches of it, one bug each (graders/mutants/fork_cow/*.patch): verify grades it as an alternate, so each patch is
exactly one bug away from a program that passes."""

import mmap  # noqa: F401
import os

def cow_fork(size, fill, offsets, mark, checkpoint):
    buf = bytearray([fill]) * size
    pid = os.fork()
    if pid == 0:
        try:
            checkpoint("forked", buf)
            for off in offsets:
                buf[off] = mark
            checkpoint("written", buf)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    return buf
