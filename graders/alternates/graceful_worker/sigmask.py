"""graceful_worker, style: signals blocked around each record; handlers do the work when unblocked."""
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

SIGS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1}


class Worker:
    def __init__(self, path: str):
        self.path = path
        self.out = open(path, "a")
        self.count = 0
        self.stopping = False

    # These run only while the mask is open, i.e. between two records.
    def on_stop(self, signum, frame):
        self.stopping = True  # exit once the other pending handlers (status, reopen) have run

    def on_hup(self, signum, frame):
        self.out.close()
        self.out = open(self.path, "a")

    def on_usr1(self, signum, frame):
        print(f"status {self.count}", flush=True)

    def run(self) -> int:
        signal.pthread_sigmask(signal.SIG_BLOCK, SIGS)
        signal.signal(signal.SIGTERM, self.on_stop)
        signal.signal(signal.SIGINT, self.on_stop)
        signal.signal(signal.SIGHUP, self.on_hup)
        signal.signal(signal.SIGUSR1, self.on_usr1)
        print("ready", flush=True)
        while True:
            write_record(self.out, self.count)
            self.count += 1
            # Open the window: pending signals are delivered and their Python handlers run
            # (pthread_sigmask checks for signals before returning), then close it again.
            signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGS)
            signal.pthread_sigmask(signal.SIG_BLOCK, SIGS)
            if self.stopping:
                self.out.write(f"done {self.count}\n")
                self.out.close()
                return 0


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(f"usage: {argv[0]} OUTFILE", file=sys.stderr)
        return 2
    return Worker(argv[1]).run()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
