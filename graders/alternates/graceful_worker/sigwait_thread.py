"""graceful_worker, style: Go-like, a thread sigwait()s on blocked signals and posts them to a queue."""
import hashlib
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

import queue  # noqa: E402
import threading  # noqa: E402

SIGS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1}


def notify(q: queue.SimpleQueue) -> None:
    while True:
        q.put(signal.sigwait(SIGS))


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} OUTFILE", file=sys.stderr)
        return 2
    path = argv[1]
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGS)  # inherited by the thread: only sigwait takes them
    q: queue.SimpleQueue = queue.SimpleQueue()
    threading.Thread(target=notify, args=(q,), daemon=True).start()
    out = open(path, "a")
    print("ready", flush=True)
    count = 0
    while True:
        write_record(out, count)
        count += 1
        stop = rotate = False
        while True:
            try:
                s = q.get_nowait()
            except queue.Empty:
                break
            if s == signal.SIGUSR1:
                print(f"status {count}", flush=True)
            elif s == signal.SIGHUP:
                rotate = True
            else:
                stop = True
        if rotate:
            out.close()
            out = open(path, "a")
        if stop:
            out.write(f"done {count}\n")
            out.close()
            return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
