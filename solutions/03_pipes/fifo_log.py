"""A log through a named pipe (命名管道, FIFO): many writers, one reader, records never mixed.

collect(path) -> list[bytes]   make the FIFO, read every record until the last writer closes
log_records(path, records)     write each record into an existing FIFO with one atomic write

A FIFO is a pipe with a name in the file system: unrelated processes open it by path. Opening it
for reading waits until a writer opens it, and opening it for writing waits for a reader. The
reader sees end-of-file once every writer has closed. One write of at most PIPE_BUF bytes (4096 on
Linux) goes into the pipe in one piece, never mixed with another writer's bytes.
"""

import os
import select

PIPE_BUF = select.PIPE_BUF   # 4096 on Linux


def collect(path: str) -> list[bytes]:
    os.mkfifo(path, 0o600)
    try:
        # open() for reading waits here until a writer opens the FIFO. The file object is a
        # buffered reader: iterating it cuts the stream into lines, however the reads fall.
        with open(path, "rb") as fifo:
            return list(fifo)          # every record, until end-of-file: the last writer closed
    finally:
        os.unlink(path)                # on every way out: the name would outlive us


def log_records(path: str, records) -> None:
    fd = os.open(path, os.O_WRONLY)   # waits until a reader has opened the FIFO
    try:
        for record in records:
            if len(record) > PIPE_BUF:
                raise ValueError(f"a record of {len(record)} bytes is longer than PIPE_BUF ({PIPE_BUF}): "
                                 "it could be cut and mixed with other writers' records")
            # One write per record, straight to the kernel (no file object buffer): at most
            # PIPE_BUF bytes are written all at once, so the record arrives whole.
            os.write(fd, record)
    finally:
        os.close(fd)
