"""Only SIGTERM gets a handler: SIGINT still raises KeyboardInterrupt in the middle of the loop.

Python installs its own SIGINT handler, which raises KeyboardInterrupt wherever the main
thread is; the worker dies with a traceback and a half-written record.
"""

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


# What the handlers have seen and the main loop has not dealt with yet.
pending = {"stop": False, "reopen": False, "status": False}


def on_stop(signum, frame):
    # A Python handler runs in the main thread, between two bytecodes of whatever the
    # loop was doing, often in the middle of a record. So it only takes note; the loop
    # acts at the next point where no record is half-written.
    pending["stop"] = True


def on_hup(signum, frame):
    pending["reopen"] = True


def on_usr1(signum, frame):
    pending["status"] = True


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} OUTFILE", file=sys.stderr)
        return 2
    path = argv[1]
    out = open(path, "a")

    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGHUP, on_hup)
    signal.signal(signal.SIGUSR1, on_usr1)

    print("ready", flush=True)
    count = 0  # records completed in this run
    while True:
        # time.sleep() inside write_record is resumed after a handler returns (PEP 475),
        # so a signal never cuts a record short.
        write_record(out, count)
        count += 1
        # Clear each flag *before* acting on it: a signal arriving meanwhile sets it
        # again and is answered on the next round instead of being lost.
        if pending["status"]:
            pending["status"] = False
            # stdout is block-buffered when it is a pipe: without flush the line could
            # sit in this process's buffer until it exits.
            print(f"status {count}", flush=True)
        if pending["reopen"]:
            pending["reopen"] = False
            # After a rename the open file object still refers to the renamed file
            # (same inode). Only opening the name again reaches the new OUTFILE.
            out.close()
            out = open(path, "a")
        if pending["stop"]:
            out.write(f"done {count}\n")
            out.close()
            return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
