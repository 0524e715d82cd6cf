"""Style: contextlib.ExitStack owns every clean-up (unlink registered right after mkfifo, close
right after open), the reader fills a preallocated bytearray with os.readv into memoryviews and
splits with bytes.splitlines-free logic (only b"\n"), the writer too uses an ExitStack."""

import contextlib
import os
import select


def collect(path: str) -> list[bytes]:
    with contextlib.ExitStack() as stack:
        os.mkfifo(path)
        stack.callback(os.unlink, path)
        fd = os.open(path, os.O_RDONLY)
        stack.callback(os.close, fd)
        block = bytearray(8192)
        view = memoryview(block)
        stream = bytearray()
        while n := os.readv(fd, [view]):
            stream += view[:n]
        view.release()
        out = bytes(stream).split(b"\n")
        return [r + b"\n" for r in out[:-1]]


def log_records(path: str, records) -> None:
    with contextlib.ExitStack() as stack:
        fd = os.open(path, os.O_WRONLY)
        stack.callback(os.close, fd)
        for record in records:
            if len(record) > select.PIPE_BUF:
                raise ValueError("record longer than PIPE_BUF")
            os.write(fd, record)
