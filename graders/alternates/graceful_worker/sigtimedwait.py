"""graceful_worker, style: the four signals stay blocked; the loop collects them with sigtimedwait."""
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

SIGS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1}


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} OUTFILE", file=sys.stderr)
        return 2
    path = argv[1]
    signal.pthread_sigmask(signal.SIG_BLOCK, SIGS)  # blocked: they wait, pending, for us
    out = open(path, "a")
    print("ready", flush=True)
    count = 0
    while True:
        write_record(out, count)
        count += 1
        got = set()
        while (info := signal.sigtimedwait(SIGS, 0)) is not None:
            got.add(info.si_signo)
        if signal.SIGUSR1 in got:
            os.write(1, f"status {count}\n".encode())  # unbuffered: straight into the pipe
        if signal.SIGHUP in got:
            out.close()
            out = open(path, "a")
        if got & {signal.SIGTERM, signal.SIGINT}:
            print(f"done {count}", file=out)
            out.close()
            return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
