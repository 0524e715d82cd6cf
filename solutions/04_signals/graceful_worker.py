"""graceful_worker: a worker that stops cleanly, rotates its log and reports on signals.

Run as a program:

    python graceful_worker.py OUTFILE

It appends records to OUTFILE (opened in append mode) for ever. Record n is the line

    rec <n> <sha1 hex digest of str(n)>

written in two parts, `rec <n> ` and then the digest with its newline, about 5 ms apart,
each part flushed to the file: a reader of OUTFILE sees half-written lines most of the time.
Records are numbered from 0 in every run. Once the signal handlers are installed and
OUTFILE is open, the worker prints `ready` on stdout, before anything else.

Make it react to signals, on the real OS (the grader sends them with kill):

- SIGTERM and SIGINT: finish the record in progress, append the line `done <count>`
  (count = records completed in this run), close OUTFILE and exit with status 0, within
  1 s of the signal. No KeyboardInterrupt traceback for SIGINT.
- SIGHUP (log rotation): OUTFILE may have been renamed away (OUTFILE -> OUTFILE.1). After
  the record in progress, close the file and open OUTFILE again *by name* (this creates a
  fresh file), and go on writing there. The renamed file must not stay open.
- SIGUSR1: print `status <count>` (records completed so far) on stdout, promptly visible to
  a reader of a pipe, where Python's stdout is block-buffered.

Never a partial record, a lost record or a duplicated one, across any number of rotations:
every record 0..count-1 is in exactly one file, whole, and `done <count>` follows the last.
Do not change the record format or the 5 ms pause: the grader relies on both.
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
    signal.signal(signal.SIGINT, on_stop)  # replaces Python's KeyboardInterrupt handler
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
