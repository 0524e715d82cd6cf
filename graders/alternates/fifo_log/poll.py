"""Style: event-driven reader: a blocking open, then select.poll() for POLLIN/POLLHUP and a read
after every event until a read returns b"" (POLLHUP alone is not the end: the data before it is
read first); records cut from a bytearray. The writer checks lengths with a helper and writes with
os.write inside contextlib.closing-like try/finally."""

import os
import select


def collect(path: str) -> list[bytes]:
    os.mkfifo(path)
    fd = -1
    try:
        fd = os.open(path, os.O_RDONLY)
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLHUP)
        buf = bytearray()
        records: list[bytes] = []
        while True:
            poller.poll()
            chunk = os.read(fd, 16384)
            if not chunk:
                break
            buf += chunk
            while (i := buf.find(b"\n")) >= 0:
                records.append(bytes(buf[:i + 1]))
                del buf[:i + 1]
        return records
    finally:
        if fd >= 0:
            os.close(fd)
        os.unlink(path)


def _checked(record: bytes) -> bytes:
    if len(record) > select.PIPE_BUF:
        raise ValueError(f"{len(record)} bytes: a record must fit in PIPE_BUF ({select.PIPE_BUF})")
    return record


def log_records(path: str, records) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        for record in map(_checked, records):
            os.write(fd, record)
    finally:
        os.close(fd)
