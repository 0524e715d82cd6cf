"""Correct, style: MAP_PRIVATE mmap filled by doubling slice copies (mm[n:2n] = mm[:n]), the
child writes one-byte slices, the parent reaps with os.wait4 and checks the status."""

import mmap
import os


def cow_fork(size, fill, offsets, mark, checkpoint):
    mm = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE)
    mm[0:1] = bytes([fill])
    n = 1
    while n < size:
        k = min(n, size - n)
        mm[n:n + k] = mm[0:k]
        n += k
    pid = os.fork()
    if pid == 0:
        try:
            checkpoint("forked", mm)
            for off in offsets:
                mm[off:off + 1] = bytes([mark])
            checkpoint("written", mm)
        finally:
            os._exit(0)
    _, status, _ = os.wait4(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return mm
