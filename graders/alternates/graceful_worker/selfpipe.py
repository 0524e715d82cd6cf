"""graceful_worker, style: the classic self-pipe trick, handlers write the signal number to a pipe."""
import hashlib
import os
import signal
import sys
import time

PAUSE = 0.005  # seconds between the two halves of a record


def record(n: int) -> tuple[str, str]:
    """The two halves of record n: 'rec <n> ' and '<sha1 hex of str(n)>\\n'."""
    return f"rec {n} ", hashlib.sha1(str(n).encode()).hexdigest() + "\n"


def write_record(out, n: int) -> None:
    """Write record n to the open file `out`, in two flushed halves with a pause between."""
    head, tail = record(n)
    out.write(head)
    out.flush()
    time.sleep(PAUSE)  # here the record is half-written: a signal usually lands here
    out.write(tail)
    out.flush()

import errno  # noqa: E402

RFD, WFD = os.pipe()
os.set_blocking(RFD, False)
os.set_blocking(WFD, False)


def handler(signum, frame):
    try:
        os.write(WFD, bytes([signum]))
    except OSError as e:  # a full pipe: there is already news waiting
        if e.errno != errno.EAGAIN:
            raise


def drain() -> set[int]:
    got = set()
    while True:
        try:
            data = os.read(RFD, 256)
        except BlockingIOError:
            return got
        if not data:
            return got
        got.update(data)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} OUTFILE", file=sys.stderr)
        return 2
    path = argv[1]
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):
        signal.signal(s, handler)
    out = open(path, "a")
    sys.stdout.reconfigure(line_buffering=True)
    print("ready")
    count = 0
    while True:
        write_record(out, count)
        count += 1
        got = drain()
        if signal.SIGUSR1 in got:
            print(f"status {count}")
        if signal.SIGHUP in got:
            out.close()
            out = open(path, "a")
        if signal.SIGTERM in got or signal.SIGINT in got:
            out.write(f"done {count}\n")
            out.close()
            return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
