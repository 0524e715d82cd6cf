"""makes the mmap in a with-block and returns it from inside, so the returned mmap is already closed, breaking 'Returns the parent's buffer: size bytes, every one of them still fill'."""

import mmap  # noqa: F401
import os

def cow_fork(size, fill, offsets, mark, checkpoint):
    with mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE) as buf:
        buf[:] = bytes([fill]) * size
        pid = os.fork()
        if pid == 0:
            checkpoint("forked", buf)
            for off in offsets:
                buf[off] = mark
            checkpoint("written", buf)
            os._exit(0)
        os.waitpid(pid, 0)
        return buf
