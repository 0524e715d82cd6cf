"""graceful_worker, style: handlers only set flags; the main loop acts between records."""
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

stop = False
rotate = False
report = False


def on_stop(signum, frame):
    global stop
    stop = True


def on_hup(signum, frame):
    global rotate
    rotate = True


def on_usr1(signum, frame):
    global report
    report = True


def main(argv: list[str]) -> int:
    global stop, rotate, report
    if len(argv) != 2:
        print(f"usage: {argv[0]} OUTFILE", file=sys.stderr)
        return 2
    path = argv[1]
    out = open(path, "a")
    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGHUP, on_hup)
    signal.signal(signal.SIGUSR1, on_usr1)
    print("ready", flush=True)
    count = 0
    while True:
        write_record(out, count)
        count += 1
        if report:
            report = False
            print(f"status {count}", flush=True)
        if rotate:
            rotate = False
            out.close()
            out = open(path, "a")
        if stop:
            out.write(f"done {count}\n")
            out.close()
            return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
