"""Style: the correct program of the second tester, who saw only the stub and the README; their mutants are
patches of it, one bug each (graders/mutants/fork_cow/*.patch)."""

import mmap  # noqa: F401
import os


def cow_fork(size, fill, offsets, mark, checkpoint):
    buf = bytearray([fill]) * size          # every byte written: every page in memory
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
