"""Style: the FIFO made with os.mknod(path, S_IFIFO | mode), the whole stream read with
pathlib.Path.read_bytes() (a blocking open, then read to end-of-file) and cut into records with
bytes.partition; the writer takes records from an explicit iterator with next()."""

import os
import pathlib
import select
import stat


def collect(path: str) -> list[bytes]:
    os.mknod(path, stat.S_IFIFO | 0o600)
    try:
        data = pathlib.Path(path).read_bytes()
    finally:
        os.unlink(path)
    records = []
    while data:
        head, sep, data = data.partition(b"\n")
        records.append(head + sep)
    return records


def log_records(path: str, records) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        it = iter(records)
        while True:
            try:
                record = next(it)
            except StopIteration:
                return
            if len(record) > select.PIPE_BUF:
                raise ValueError("record longer than PIPE_BUF")
            written = os.write(fd, memoryview(record))
            if written != len(record):
                raise OSError(f"short write: {written} of {len(record)} bytes")
    finally:
        os.close(fd)
