"""Correct, style: ctypes.memset fills a bytearray, the child writes through a memoryview,
and the parent blocks SIGCHLD before fork and sleeps in signal.sigwait() until the child has
ended, then reaps it with os.waitid()."""

import ctypes
import os
import signal


def cow_fork(size, fill, offsets, mark, checkpoint):
    buf = bytearray(size)
    raw = (ctypes.c_char * size).from_buffer(buf)
    ctypes.memset(raw, fill, size)
    del raw                                  # release the export
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    try:
        pid = os.fork()
        if pid == 0:
            try:
                checkpoint("forked", buf)
                view = memoryview(buf)
                for off in offsets:
                    view[off] = mark
                view.release()
                checkpoint("written", buf)
            finally:
                os._exit(0)
        while True:
            info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG)
            if info is not None:
                break
            signal.sigwait({signal.SIGCHLD})
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
    return buf
