"""Style: raw file descriptors only: os.open / os.read with a bytes buffer cut by hand at b"\n"
for the reader, os.open / os.write for the writer, every fd closed in a finally."""

import os
import select


def collect(path: str) -> list[bytes]:
    os.mkfifo(path, 0o600)
    try:
        fd = os.open(path, os.O_RDONLY)          # blocks until the first writer
        try:
            records: list[bytes] = []
            pending = b""
            while True:
                chunk = os.read(fd, 65536)
                if not chunk:                    # every writer has closed
                    break
                pending += chunk
                *complete, pending = pending.split(b"\n")
                records.extend(r + b"\n" for r in complete)
            return records
        finally:
            os.close(fd)
    finally:
        os.unlink(path)


def log_records(path: str, records) -> None:
    fd = os.open(path, os.O_WRONLY)              # blocks until a reader
    try:
        for record in records:
            if len(record) > select.PIPE_BUF:
                raise ValueError(f"record of {len(record)} bytes > PIPE_BUF ({select.PIPE_BUF})")
            os.write(fd, record)
    finally:
        os.close(fd)
