"""Grader for graceful_worker (04_signals): a real worker process, real signals, its real file.

Every test runs `python graceful_worker.py worker.log` (cwd: the test's private directory),
waits for `ready`, then signals it with kill and reads worker.log and /proc from outside.

To send a signal while a record is certainly half-written, the test freezes the worker with
SIGSTOP, checks that the file ends with a partial line (a write of the second half cannot be
under way while the process is stopped), sends the signal, and lets the worker go on with
SIGCONT: the signal is then handled in the middle of that record, on every run.
"""

import hashlib
import os
import re
import signal
import time

from graders.harness import osinspect
from graders.harness.scenario import wait_until as _wait_until

LOG = "worker.log"
EXIT_DEADLINE = 1.0  # the contract: exit within 1 s of SIGTERM / SIGINT
ROTATE_DEADLINE = 1.0  # a worker reopens after one record (~5 ms)
STATUS_DEADLINE = 1.0  # `status N` promptly visible through the pipe
RECORD = re.compile(r"rec (\d+) ([0-9a-f]{40})")
DONE = re.compile(r"done (\d+)")

SIGNAME = {signal.SIGTERM: "SIGTERM", signal.SIGINT: "SIGINT", signal.SIGHUP: "SIGHUP",
           signal.SIGUSR1: "SIGUSR1"}


# --- helpers -------------------------------------------------------------------------------

def _text(line) -> str:
    return line.decode(errors="replace") if isinstance(line, bytes) else line


def _path(prog, name: str = LOG) -> str:
    return os.path.join(os.fspath(prog.tmp), name)


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""


def _complete_records(data: bytes) -> int:
    return sum(1 for line in data.split(b"\n")[:-1] if line.startswith(b"rec "))


def _start(exercise, needs=()):
    """Start the worker, check that `ready` comes first and that the handlers in `needs` exist."""
    prog = exercise.program([LOG])
    line = _text(prog.readline(timeout=2.0, awaiting="`ready` on stdout (printed with flush=True)"))
    assert line.rstrip("\n") == "ready", (
        f"the first line the worker printed on stdout was {line!r}; expected 'ready': print "
        "`ready` once, after installing the handlers and opening OUTFILE, before anything else")
    assert os.path.exists(_path(prog)), (
        f"the worker printed `ready` but {LOG} does not exist: open OUTFILE before printing ready")
    if needs:
        masks = osinspect.signal_masks(prog.pid)
        handled = masks.get("SigCgt", set()) | masks.get("SigBlk", set())
        missing = [SIGNAME[s] for s in needs if s not in handled]
        assert not missing, (
            f"right after `ready`, /proc/{prog.pid}/status shows no handler for {', '.join(missing)} "
            "(SigCgt): install the handlers with signal.signal() before printing ready")
    return prog


def _stopped(pid: int) -> str:
    try:
        return osinspect.state(pid)
    except ProcessLookupError:
        return "gone"


def _ended(prog, when: str) -> str:
    return (f"the worker (pid {prog.pid}) was no longer running {when}: it must write records "
            "until SIGTERM or SIGINT (did an exception, or a signal it does not handle, end it? "
            "What it printed on stderr is in the log named below)")


def _freeze_mid_record(prog) -> bytes:
    """Leave the worker stopped (SIGSTOP) at a moment when worker.log ends with a half record."""
    path = _path(prog)
    deadline = time.monotonic() + 2.0
    while True:
        os.kill(prog.pid, signal.SIGSTOP)
        _wait_until(lambda: _stopped(prog.pid) in ("T", "Z", "gone"), 1.0)
        assert _stopped(prog.pid) == "T", _ended(prog, "before it was asked to stop")
        data = _read(path)
        if data and not data.endswith(b"\n"):
            return data
        os.kill(prog.pid, signal.SIGCONT)
        assert time.monotonic() < deadline, (
            f"in 2 s, {LOG} was never seen ending with a half-written record: keep the stub's "
            "write_record() (two flushed halves, 5 ms apart) for every record")
        time.sleep(0.001)


def _signal_mid_record(prog, signum: int) -> bytes:
    """Send `signum` while a record is half-written; return the file content at that moment."""
    data = _freeze_mid_record(prog)
    os.kill(prog.pid, signum)
    os.kill(prog.pid, signal.SIGCONT)
    return data


def _wait_exit(prog, signum: int) -> None:
    name = SIGNAME[signum]
    code = prog.wait(timeout=EXIT_DEADLINE,
                     awaiting=f"the worker to exit within 1 s of {name}")
    if code == 0:
        return
    if code == -signum:
        meaning = (f"killed by {name} itself: with no handler installed, its default action ends "
                   "the process at once. Install a handler")
        if signum == signal.SIGINT:
            meaning = ("killed by SIGINT: Python's own SIGINT handler raised KeyboardInterrupt in "
                       "the middle of the loop and nothing caught it. Install your own handler "
                       "for SIGINT, like SIGTERM's")
    elif code < 0:
        meaning = f"killed by signal {-code}"
    else:
        meaning = ("an uncaught exception (see the traceback on stderr) or sys.exit() with a "
                   "non-zero value; a requested stop is a success: exit with status 0")
    raise AssertionError(f"after {name} (sent while a record was half-written) the worker's exit "
                         f"status was {code}, expected 0: {meaning}")


def _show(line: str) -> str:
    return repr(line if len(line) <= 70 else line[:67] + "...")


def _check_files(names: list[str], prog, signum: int) -> int:
    """Check that the files, in order, hold rec 0..count-1 whole, then `done <count>`; return count."""
    name = SIGNAME[signum]
    expected = 0
    for index, fname in enumerate(names):
        last_file = index == len(names) - 1
        data = _read(_path(prog, fname))
        assert data, (f"{fname} is empty or missing after {name}: the worker had half-written a "
                      "record there when it was signalled, so it must finish that record in this file")
        where_next = ""
        if not last_file and not _read(_path(prog, names[index + 1])).startswith(b"rec "):
            where_next = f" and {names[index + 1]} starts with the rest of it"
        assert data.endswith(b"\n"), (
            f"{fname} ends with the half-written line {_show(data.decode(errors='replace').rsplit(chr(10), 1)[-1])}"
            f"{where_next}: a signal cut a record in two. The handler must only take note; finish "
            "the record in progress before acting on the signal")
        lines = data.decode(errors="replace").split("\n")[:-1]
        for number, line in enumerate(lines, 1):
            at = f"{fname} line {number}"
            if last_file and number == len(lines):
                done = DONE.fullmatch(line)
                if not done and "done" in line:
                    raise AssertionError(
                        f"after {name}, the last line of {fname} is {_show(line)}: `done` was "
                        "written into a half-written record. Finish the record in progress first, "
                        "then append `done <count>` on its own line")
                assert done, (
                    f"after {name}, the last line of {fname} is {_show(line)}; expected `done "
                    f"{expected}` ({expected} records completed): finish the record in progress, "
                    "then append `done <count>` and close the file")
                got = int(done.group(1))
                assert got == expected, (
                    f"the worker wrote `done {got}` but completed {expected} records (rec 0 to "
                    f"rec {expected - 1}): count every completed record, and only those")
                return expected
            rec = RECORD.fullmatch(line)
            if rec is None:
                if DONE.fullmatch(line):
                    hint = "`done` must be the very last line, after every record"
                elif "done" in line:
                    hint = ("`done` was written in the middle of a record: the handler did the work "
                            "at once instead of letting the loop finish the record first")
                else:
                    hint = ("it is not a whole record: a record was split or interleaved. Act on "
                            "signals only between two records")
                raise AssertionError(f"{at} is {_show(line)}: {hint}")
            n = int(rec.group(1))
            if n != expected:
                what = (f"record {n} appears again (duplicated)" if n < expected
                        else f"records {expected}..{n - 1} are missing (lost)")
                raise AssertionError(
                    f"{at} is rec {n} where rec {expected} was expected: {what}. Every record "
                    "must be written exactly once, across rotations too")
            assert rec.group(2) == hashlib.sha1(str(n).encode()).hexdigest(), (
                f"{at} has the wrong digest for record {n}: keep the stub's record() format")
            expected += 1
    raise AssertionError("unreachable")  # pragma: no cover


def _stop_and_check(exercise, signum: int) -> None:
    needs = (signum,) if signum != signal.SIGINT else ()  # Python itself always catches SIGINT
    prog = _start(exercise, needs=needs)
    _wait_until(lambda: _complete_records(_read(_path(prog))) >= 2, 1.0)
    _signal_mid_record(prog, signum)
    _wait_exit(prog, signum)
    _check_files([LOG], prog, signum)


# --- tests ---------------------------------------------------------------------------------

def test_sigterm_finishes_the_record_appends_done_and_exits_0(exercise):
    _stop_and_check(exercise, signal.SIGTERM)


def test_sigint_is_handled_exactly_like_sigterm(exercise):
    _stop_and_check(exercise, signal.SIGINT)


def test_sighup_reopens_outfile_by_name_after_each_rotation(exercise):
    prog = _start(exercise, needs=(signal.SIGHUP, signal.SIGTERM))
    path = _path(prog)
    names = []
    for i in (1, 2, 3):
        rotated = f"{LOG}.{i}"
        _freeze_mid_record(prog)
        os.rename(path, _path(prog, rotated))
        names.append(rotated)
        os.kill(prog.pid, signal.SIGHUP)
        os.kill(prog.pid, signal.SIGCONT)
        _wait_until(lambda: b"\n" in _read(path) or _stopped(prog.pid) in ("Z", "gone"),
                    ROTATE_DEADLINE)
        assert _stopped(prog.pid) not in ("Z", "gone"), _ended(prog, f"after SIGHUP #{i}")
        reopened = b"\n" in _read(path)
        assert reopened, (
            f"{LOG} was renamed to {rotated} and SIGHUP sent, but within {ROTATE_DEADLINE:.0f} s "
            f"the worker did not create a new {LOG} and write a record to it "
            f"({'it does not exist' if not os.path.exists(path) else 'it has no whole line'}): "
            "the open file object still refers to the renamed file; close it and open OUTFILE "
            "again by name")
        still_open = sorted(fd for fd, target in osinspect.fd_targets(prog.pid).items()
                            if os.path.basename(target.removesuffix(" (deleted)")) in names)
        assert not still_open, (
            f"after rotation {i} the worker writes to the new {LOG} but still holds "
            f"{', '.join(os.path.basename(osinspect.fd_targets(prog.pid).get(fd, '?')) for fd in still_open)} "
            f"open (fd {', '.join(map(str, still_open))} in /proc/{prog.pid}/fd): close the old "
            "file when you reopen, or the disk space of a rotated log is never freed")
    _signal_mid_record(prog, signal.SIGTERM)
    _wait_exit(prog, signal.SIGTERM)
    _check_files([*names, LOG], prog, signal.SIGTERM)


def test_sigusr1_prints_status_promptly_through_a_pipe(exercise):
    prog = _start(exercise, needs=(signal.SIGUSR1, signal.SIGTERM))
    path = _path(prog)
    last = 0
    for round_ in (1, 2):
        _wait_until(lambda last=last: _complete_records(_read(path)) >= last + 2, 1.0)
        before = _complete_records(_read(path))
        prog.signal(signal.SIGUSR1)
        line = _text(prog.readline(
            timeout=STATUS_DEADLINE,
            awaiting="`status <count>` on stdout after SIGUSR1 (stdout is a pipe, so Python "
                     "keeps what you print in a buffer until it is flushed: print(..., flush=True))"))
        after = _complete_records(_read(path))
        status = re.fullmatch(r"status (\d+)", line.rstrip("\n"))
        assert status, (f"after SIGUSR1 the worker printed {_show(line)}; expected "
                        "`status <count>`, one line")
        count = int(status.group(1))
        assert before <= count <= after, (
            f"SIGUSR1 #{round_} got `status {count}`, but {before} records were complete in "
            f"{LOG} when the signal was sent and {after} just after the line was read: count "
            "the records completed so far")
        last = count
    _signal_mid_record(prog, signal.SIGTERM)
    _wait_exit(prog, signal.SIGTERM)
    done = _check_files([LOG], prog, signal.SIGTERM)
    assert done >= last, f"`done {done}` is less than the last status ({last})"
