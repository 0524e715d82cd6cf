"""Style: file objects over fds opened by os.open: the reader is a buffered reader
(os.fdopen(fd, "rb")) driven by readline until b""; the writer is an unbuffered FileIO
(os.fdopen(fd, "wb", buffering=0)) whose write() is one write(2) system call per record, with a
check that the whole record went."""

import os
import select


def collect(path: str) -> list[bytes]:
    os.mkfifo(path)
    try:
        with os.fdopen(os.open(path, os.O_RDONLY), "rb") as reader:
            return [line for line in iter(reader.readline, b"")]
    finally:
        os.unlink(path)


def log_records(path: str, records) -> None:
    with os.fdopen(os.open(path, os.O_WRONLY), "wb", buffering=0) as out:
        for record in records:
            if len(record) > select.PIPE_BUF:
                raise ValueError(f"record of {len(record)} bytes > PIPE_BUF")
            n = out.write(record)                # FileIO: exactly one write(2)
            assert n == len(record)
