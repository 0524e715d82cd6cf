"""graceful_worker, style: signal.set_wakeup_fd into a non-blocking pipe, polled with select."""
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

import select  # noqa: E402


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} OUTFILE", file=sys.stderr)
        return 2
    path = argv[1]
    out = open(path, "a")
    rfd, wfd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wfd, warn_on_full_buffer=False)
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):
        signal.signal(s, lambda *_: None)  # a Python-level no-op; the byte in the pipe is the news
    print("ready", flush=True)
    count = 0
    while True:
        write_record(out, count)
        count += 1
        got = set()
        while select.select([rfd], [], [], 0)[0]:
            try:
                data = os.read(rfd, 512)
            except BlockingIOError:
                break
            got.update(data)
        if signal.SIGUSR1 in got:
            sys.stdout.write(f"status {count}\n")
            sys.stdout.flush()
        if signal.SIGHUP in got:
            out.close()
            out = open(path, "a")
        if got & {signal.SIGTERM, signal.SIGINT}:
            out.write(f"done {count}\n")
            out.close()
            return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
