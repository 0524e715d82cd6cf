"""Correct, style: the parent waits through a pidfd (os.pidfd_open + select.poll) and then
reaps with os.waitpid; the buffer is a bytearray filled by slice assignment page by page."""

import mmap
import os
import select


def cow_fork(size, fill, offsets, mark, checkpoint):
    page = mmap.PAGESIZE
    buf = bytearray(size)
    one = bytes([fill]) * page
    for start in range(0, size, page):
        buf[start:start + page] = one
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            checkpoint("forked", buf)
            for off in offsets:
                buf[off:off + 1] = bytes((mark,))
            checkpoint("written", buf)
        except BaseException:                     # noqa: BLE001
            code = 1
        os._exit(code)
    fd = os.pidfd_open(pid)
    try:
        p = select.poll()
        p.register(fd, select.POLLIN)
        while not p.poll():
            pass
    finally:
        os.close(fd)
    os.waitpid(pid, 0)
    return buf
