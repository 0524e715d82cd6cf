"""A log through a named pipe (命名管道, FIFO): many writers, one reader, records never mixed.

Read exercises/03_pipes/README.md first. Grade with `nox -s grade -- fifo_log`.

A record is a bytes object of at most PIPE_BUF bytes (select.PIPE_BUF, 4096 on Linux) that ends
with b"\\n" and holds no other b"\\n".

collect(path) -> list[bytes]
- path does not exist yet. collect makes a FIFO there with os.mkfifo.
- It opens the FIFO for reading with a blocking open, which waits until a writer opens the FIFO
  (no O_NONBLOCK, no O_RDWR).
- It reads until end-of-file, which comes only once every writer has closed its end (writers come
  and go; a read that returns less than asked, or one record, is not the end).
- It returns the records in the order they were read, each with its b"\\n", exactly as written.
  Several writers write at once, each record with one write: they arrive whole, never mixed. A
  record ends at b"\\n" and nowhere else: a b"\\r" inside one is part of it.
- The FIFO stays at path until collect returns: a writer may come at any time and open it there.
- When collect returns, the FIFO is removed and no file descriptor of it is left open. When an
  exception interrupts collect (a signal handler may raise one while it waits, in open() or in a
  read), the exception goes on to the caller, and the FIFO is removed and closed all the same.

log_records(path, records) -> None
- path is an existing FIFO: log_records neither makes nor removes it. If nothing is at path (the
  reader has gone), opening it raises FileNotFoundError, which goes on to the caller, and nothing
  is made there (no O_CREAT: open(path, "wb") would make a regular file).
- It opens the FIFO for writing with a blocking open, which waits until a reader has opened it
  (no O_NONBLOCK, which fails with ENXIO when no reader is there; no O_RDWR).
- records is an iterable of records, maybe a generator that makes each one only when asked. Each
  record is written unchanged, in order, with exactly one os.write() of the whole record, as soon
  as log_records has it, before it takes the next one: a log holds nothing back.
- So the records of several processes logging into one FIFO at the same time never mix.
- A record longer than PIPE_BUF bytes (count bytes, not characters) raises ValueError before any
  byte of it is written.
- When log_records returns or raises, its end of the FIFO is closed.
"""

import os  # noqa: F401 - os.mkfifo, os.open, os.write, os.unlink...
import select  # noqa: F401 - select.PIPE_BUF


def collect(path: str) -> list[bytes]:
    # TODO: make the FIFO with os.mkfifo(path).
    # TODO: open it for reading (this waits for the first writer) and read records until
    #       end-of-file; a buffered reader (open(path, "rb")) finds the b"\n" for you.
    # TODO: on every way out (return or exception), close it and remove it (os.unlink).
    raise NotImplementedError("collect: see the TODOs in exercises/03_pipes/fifo_log.py")


def log_records(path: str, records) -> None:
    # TODO: open the FIFO for writing with os.open (this waits for a reader).
    # TODO: for each record: refuse one longer than PIPE_BUF (ValueError), else write it with one
    #       os.write(), at once.
    # TODO: close your end on every way out.
    raise NotImplementedError("log_records: see the TODOs in exercises/03_pipes/fifo_log.py")
