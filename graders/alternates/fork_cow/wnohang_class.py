"""Correct, style: a small class; the buffer is bytearray(bytes([fill]) * size), the parent
polls os.waitpid(pid, os.WNOHANG) with a short sleep until the child is reaped."""

import os
import time


class _Experiment:
    def __init__(self, size, fill):
        self.buf = bytearray(bytes([fill]) * size)

    def child(self, offsets, mark, checkpoint):
        try:
            checkpoint("forked", self.buf)
            for off in offsets:
                self.buf[off] = mark
            checkpoint("written", self.buf)
        finally:
            os._exit(0)

    def reap(self, pid):
        while True:
            got, status = os.waitpid(pid, os.WNOHANG)
            if got == pid:
                return status
            time.sleep(0.01)


def cow_fork(size, fill, offsets, mark, checkpoint):
    exp = _Experiment(size, fill)
    pid = os.fork()
    if pid == 0:
        exp.child(offsets, mark, checkpoint)
    exp.reap(pid)
    return exp.buf
