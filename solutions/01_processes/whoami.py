"""Fork a child that tells its parent who it is: pid and ppid (进程标识).

report_ids(gate) forks one child. The child reads `gate` until end-of-file (the token: any bytes,
any length), asks the kernel for its own pid and its parent's pid, sends them with the token
through a pipe, and ends with os._exit(0). The parent reads the report until end-of-file, reaps
that child (only it), closes the pipe and returns {"child_pid", "child_ppid", "parent_pid", "token"}.
"""

import json
import os


def _read_all(fd: int) -> bytes:
    """Read fd until end-of-file. One os.read returns what is there *now*: a pipe or a FIFO
    may deliver its data in several pieces, and only b"" means every writer has closed."""
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return b"".join(chunks)


def report_ids(gate: int) -> dict:
    # The pipe must exist before the fork: the child gets copies of both ends.
    r, w = os.pipe()
    pid = os.fork()

    if pid == 0:
        # The child. It runs the same program as the parent, from the same point (fork
        # returned here twice), with a copy of the parent's memory (写时复制 copy-on-write):
        # a variable set before the fork still holds the *parent's* values, so the ids are
        # asked from the kernel now, in the child.
        code = 1
        try:
            os.close(r)
            token = _read_all(gate)          # held here until the writer closes the gate
            # Any byte may be in the token (NUL, newlines, bytes that are not UTF-8): hex keeps
            # them all in a json report.
            report = {"pid": os.getpid(), "ppid": os.getppid(), "token": token.hex()}
            data = json.dumps(report).encode()
            while data:                      # os.write may write less than asked
                data = data[os.write(w, data):]
            os.close(w)
            code = 0
        finally:
            # Never return (or raise) into the caller's code: the caller's code would then run
            # twice, once in each process. os._exit ends the process at once: no exception
            # unwinds, no `finally` of the caller runs, no buffer of the parent is flushed twice.
            os._exit(code)

    # The parent. Close our copy of the write end, or the read below never sees end-of-file
    # (a reader gets b"" only when *every* copy of the write end is closed).
    os.close(w)
    try:
        # Read before waiting: a report bigger than the pipe holds (64 KiB) leaves the child
        # asleep in its write until we read; a parent waiting first would wait for ever.
        data = _read_all(r)
    finally:
        os.close(r)
    # Reap the child: until we do, it stays a zombie (state Z) once it has exited. This child
    # only (os.wait() would take any child of the caller), and with options 0: sleep until it
    # has ended (WNOHANG would return at once if it is still on its way out).
    os.waitpid(pid, 0)

    report = json.loads(data)
    return {
        "child_pid": report["pid"],
        "child_ppid": report["ppid"],
        "parent_pid": os.getpid(),
        "token": bytes.fromhex(report["token"]),
    }
