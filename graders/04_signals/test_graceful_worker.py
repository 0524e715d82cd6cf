"""Grader for graceful_worker (04_signals): a real worker process, real signals, its real file.

Every test runs `python graceful_worker.py worker.log` (cwd: the test's private directory),
waits for `ready`, then signals it with kill and reads worker.log, the exit status, stdout and
/proc from outside: nothing is observed inside the student's process.

The schedule is forced, never left to sleeps:

- To send a signal while a record is certainly half-written, the test freezes the worker with
  SIGSTOP, checks that the file ends with a partial line (a write of the second half cannot be
  under way while the process is stopped), sends the signal(s), and lets the worker go on with
  SIGCONT: the signal is handled in the middle of that record, on every run. Two signals sent
  while it is stopped are both pending when it resumes.
- To see what holds when `ready` is printed, the test fills the worker's stdout pipe before the
  worker starts: `print("ready")` then blocks in write(), and /proc shows the handlers and the
  open files at that very moment.
"""

import fcntl
import hashlib
import os
import platform
import re
import signal
import time

from graders.harness import osinspect
from graders.harness.outcome import Timeout
from graders.harness.sandbox import Program, describe_status
from graders.harness.scenario import wait_until as _wait_until

LOG = "worker.log"
EXIT_DEADLINE = 1.0  # the contract: exit within 1 s of SIGTERM / SIGINT
ROTATE_DEADLINE = 1.0  # a worker reopens after one record (~5 ms)
STATUS_DEADLINE = 1.0  # `status N` promptly visible through the pipe
READY_DEADLINE = 2.0  # interpreter start-up, then `ready`
WRITE_SYSCALL = {"x86_64": "1", "aarch64": "64", "riscv64": "64"}.get(platform.machine(), "1")  # write(2)
RECORD = re.compile(r"rec (\d+) ([0-9a-f]{40})")
DONE = re.compile(r"done (\d+)")

SIGNAME = {signal.SIGTERM: "SIGTERM", signal.SIGINT: "SIGINT", signal.SIGHUP: "SIGHUP",
           signal.SIGUSR1: "SIGUSR1"}


# --- helpers -------------------------------------------------------------------------------

def _digest(n: int) -> str:
    return hashlib.sha1(str(n).encode()).hexdigest()


def _names(signums) -> str:
    return " and ".join(SIGNAME[s] for s in signums)


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


def _show(line: str) -> str:
    return repr(line if len(line) <= 70 else line[:67] + "...")


def _stderr(exercise) -> str:
    """The last line the worker printed on stderr, quoted for a message ('' if none)."""
    lines = [line for line in exercise.output().splitlines() if line.strip()]
    return f" Its last line on stderr: {_show(lines[-1].strip())}." if lines else ""


def _stopped(pid: int) -> str:
    try:
        return osinspect.state(pid)
    except ProcessLookupError:
        return "gone"


def _ended(exercise, prog, when: str) -> str:
    try:
        how = describe_status(prog.wait(timeout=1.0, awaiting="the ended worker's exit status"))
    except Exception:  # noqa: BLE001 - only for the message
        how = "ended"
    return (f"the worker (pid {prog.pid}) {how} {when}; it must write records until SIGTERM or "
            f"SIGINT.{_stderr(exercise)} An exception, or a signal it does not handle, ends it")


def _prefill(exercise, content: bytes) -> None:
    """worker.log as an earlier run left it, owned by the worker's user like its folder."""
    path = os.path.join(os.fspath(exercise.tmp), LOG)
    with open(path, "wb") as f:
        f.write(content)
    folder = os.stat(exercise.tmp)
    os.chown(path, folder.st_uid, folder.st_gid)


def _start(exercise):
    """Start the worker and check that `ready` comes first."""
    prog = exercise.program([LOG])
    _expect_ready(exercise, prog)
    return prog


def _expect_ready(exercise, prog) -> None:
    try:
        line = _text(prog.readline(timeout=READY_DEADLINE,
                                   awaiting="`ready` on stdout (printed with flush=True)"))
    except Exception as exc:
        if _stopped(prog.pid) in ("Z", "gone"):
            raise AssertionError(_ended(exercise, prog, "before printing `ready`")) from None
        raise exc
    assert line.rstrip("\n") == "ready", (
        f"the first line the worker printed on stdout was {_show(line)}; expected 'ready': print "
        "`ready` once, after installing the handlers and opening OUTFILE, before anything else")


def _freeze_mid_record(exercise, prog, name: str = LOG) -> bytes:
    """Leave the worker stopped (SIGSTOP) at a moment when `name` ends with a half record."""
    path = _path(prog, name)
    deadline = time.monotonic() + 2.0
    while True:
        os.kill(prog.pid, signal.SIGSTOP)
        _wait_until(lambda: _stopped(prog.pid) in ("T", "Z", "gone"), 1.0, interval=0.0005)
        assert _stopped(prog.pid) == "T", _ended(exercise, prog, "before it was asked to stop")
        data = _read(path)
        if data and not data.endswith(b"\n"):
            return data
        os.kill(prog.pid, signal.SIGCONT)
        if time.monotonic() >= deadline:
            raise Timeout(f"in 2 s, {name} was never seen ending with a half-written record: keep the "
                          "stub's write_record() (two flushed halves, 5 ms apart) for every record")
        time.sleep(0.001)  # not synchronisation: the next look at the file, 1 ms later


def _signal_mid_record(exercise, prog, *signums: int, name: str = LOG) -> tuple[bytes, float]:
    """Send `signums` while a record of `name` is half-written; return that content and the time."""
    data = _freeze_mid_record(exercise, prog, name)
    for signum in signums:
        os.kill(prog.pid, signum)
    sent = time.monotonic()
    os.kill(prog.pid, signal.SIGCONT)
    return data, sent


def _wait_records(exercise, prog, count: int, name: str = LOG) -> None:
    _wait_until(lambda: _complete_records(_read(_path(prog, name))) >= count
                or _stopped(prog.pid) in ("Z", "gone"), 2.0)
    assert _stopped(prog.pid) not in ("Z", "gone"), _ended(exercise, prog, "while writing records")
    got = _complete_records(_read(_path(prog, name)))
    if got < count:
        raise Timeout(f"in 2 s the worker wrote only {got} whole record(s) to {name}, expected at "
                      f"least {count}: write records for ever, about one every 5 ms")


def _stop(exercise, prog, *signums: int, name: str = LOG) -> None:
    """Send the stop signal(s) mid-record and check the exit: status 0 within 1 s."""
    _, sent = _signal_mid_record(exercise, prog, *signums, name=name)
    what = _names(signums)
    code = prog.wait(timeout=EXIT_DEADLINE, awaiting=f"the worker to exit within 1 s of {what}")
    took = time.monotonic() - sent
    if code == 0:
        assert took <= EXIT_DEADLINE, (
            f"the worker exited with status 0, but {took:.2f} s after {what} (it was sent while a "
            "record was half-written); the limit is 1 s: finish the record, write `done`, close "
            "the file and return at once, without waiting")
        return
    first = min(signums)  # a process handles pending standard signals lowest number first
    if code in [-s for s in signums]:
        killer = SIGNAME[-code]
        meaning = (f"killed by {killer} itself: with no handler installed, its default action ends "
                   "the process at once. Install a handler")
        if -code == signal.SIGINT:
            meaning = ("killed by SIGINT: Python's own SIGINT handler raised KeyboardInterrupt in "
                       "the middle of the loop and nothing caught it. Install your own handler "
                       "for SIGINT, like SIGTERM's")
    elif code < 0:
        meaning = f"killed by signal {-code}"
    elif len(signums) > 1 and not re.search(rb"(^|\n)done \d+\n$", _read(_path(prog, name))):
        tail = _read(_path(prog, name)).decode(errors="replace").rsplit("\n", 1)[-1]
        cut = f", and {name} ends with the half record {_show(tail)}" if tail else ""
        meaning = (f"both were pending when it resumed, so a second stop handler ran before the loop "
                   f"had acted on the first ({SIGNAME[first]} is handled first){cut}. Every stop "
                   "signal asks for the same clean stop: finish the record, write `done`, exit 0; a "
                   "second one must not force anything")
    else:
        meaning = ("an uncaught exception or sys.exit() with a non-zero value; a requested stop is a "
                   "success: exit with status 0")
    raise AssertionError(f"after {what} (sent while a record was half-written) the worker's exit "
                         f"status was {code}, expected 0: {meaning}.{_stderr(exercise)}")


def _check_files(names: list[str], prog, what: str, earlier: bytes = b"") -> int:
    """Check that the files, in order, hold rec 0..count-1 whole, then `done <count>`; return count.
    The first file must still start with `earlier`, what it held before this run."""
    expected = 0
    kept = earlier.count(b"\n")
    for index, fname in enumerate(names):
        last_file = index == len(names) - 1
        data = _read(_path(prog, fname))
        if index == 0 and earlier:
            assert data.startswith(earlier), (
                f"before the worker started, {fname} held {kept} lines of an earlier run; after "
                f"this run it starts with {_show(data[:60].decode(errors='replace'))} instead: the "
                "worker erased them. Open OUTFILE in append mode, open(path, 'a'): 'w' truncates")
            data = data[len(earlier):]
        assert data, (f"{fname} is empty or missing after {what}: the worker had half-written a "
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
            at = f"{fname} line {number + (kept if index == 0 else 0)}"
            if last_file and number == len(lines):
                done = DONE.fullmatch(line)
                if not done and "done" in line:
                    raise AssertionError(
                        f"after {what}, the last line of {fname} is {_show(line)}: `done` was "
                        "written into a half-written record. Finish the record in progress first, "
                        "then append `done <count>` on its own line")
                assert done, (
                    f"after {what}, the last line of {fname} is {_show(line)}; expected `done "
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
            if n != expected and expected == 0 and earlier:
                raise AssertionError(
                    f"the first record this run appended to {fname}, after the {kept} "
                    f"lines of an earlier run, is rec {n}; expected rec 0: records are numbered from 0 in "
                    "every run. Do not continue the numbering found in OUTFILE")
            if n != expected:
                what_happened = (f"record {n} appears again (duplicated)" if n < expected
                                 else f"records {expected}..{n - 1} are missing (lost)")
                raise AssertionError(
                    f"{at} is rec {n} where rec {expected} was expected: {what_happened}. Every record "
                    "must be written exactly once, across rotations too")
            assert rec.group(2) == _digest(n), (
                f"{at} has the wrong digest for record {n}: keep the stub's record() format")
            expected += 1
    raise AssertionError("unreachable")  # pragma: no cover


def _rotate(exercise, prog, index: int, rotated: str, names: list[str], *extra: int) -> None:
    """Rename LOG to `rotated` while a record is half-written, send SIGHUP (and `extra`), and check
    that a new LOG gets a whole record and that no renamed file stays open."""
    path = _path(prog)
    _freeze_mid_record(exercise, prog)
    os.rename(path, _path(prog, rotated))
    names.append(rotated)
    for signum in (signal.SIGHUP, *extra):
        os.kill(prog.pid, signum)
    os.kill(prog.pid, signal.SIGCONT)
    _wait_until(lambda: b"\n" in _read(path) or _stopped(prog.pid) in ("Z", "gone"), ROTATE_DEADLINE)
    sent = _names((signal.SIGHUP, *extra))
    assert _stopped(prog.pid) not in ("Z", "gone"), _ended(exercise, prog, f"after rename #{index} + {sent}")
    reopened = b"\n" in _read(path)
    if not reopened:  # a Timeout: the remaining tests need a reopen too, they are not run
        why = ("the open file object still refers to the renamed file; close it and open OUTFILE "
               "again by name")
        if extra:
            why = (f"SIGHUP and {_names(extra)} were both pending when it resumed, and the SIGHUP went "
                   "unanswered: one signal must not replace another. Keep one flag per signal and act "
                   "on every flag that is set")
        raise Timeout(
            f"{LOG} was renamed to {rotated} and {sent} sent, but within {ROTATE_DEADLINE:.0f} s "
            f"the worker did not create a new {LOG} and write a record to it "
            f"({'it does not exist' if not os.path.exists(path) else 'it has no whole line'}): {why}")
    old = _read(_path(prog, rotated))
    assert old.endswith(b"\n"), (
        f"after rename #{index} + {sent}, {rotated} ends with the half-written line "
        f"{_show(old.decode(errors='replace').rsplit(chr(10), 1)[-1])} and the new {LOG} starts with "
        f"{_show(_read(path).decode(errors='replace').split(chr(10), 1)[0])}: the reopen happened in the "
        "middle of a record. The handler must only take note; finish the record in progress in the old "
        "file, then close it and open OUTFILE again")
    targets = osinspect.fd_targets(prog.pid)
    still_open = sorted(fd for fd, target in targets.items()
                        if os.path.basename(target.removesuffix(" (deleted)")) in names)
    assert not still_open, (
        f"after rotation {index} the worker writes to the new {LOG} but still holds "
        f"{', '.join(os.path.basename(targets.get(fd, '?')) for fd in still_open)} "
        f"open (fd {', '.join(map(str, still_open))} in /proc/{prog.pid}/fd): close the old "
        "file when you reopen, or the disk space of a rotated log is never freed")


def _read_status(exercise, prog, sent: str) -> int:
    try:
        line = _text(prog.readline(
            timeout=STATUS_DEADLINE,
            awaiting=f"`status <count>` on stdout after {sent} (stdout is a pipe, so Python "
                     "keeps what you print in a buffer until it is flushed: print(..., flush=True))"))
    except Timeout as exc:
        elsewhere = [line for line in exercise.output().splitlines() if line.startswith("status ")]
        if elsewhere:
            raise Timeout(f"{exc.message}; the worker printed {_show(elsewhere[-1])} on stderr instead: "
                          "print it on stdout (the pipe a supervisor reads)") from None
        raise
    status = re.fullmatch(r"status (\d+)", line.rstrip("\n"))
    assert status, f"after {sent} the worker printed {_show(line)}; expected `status <count>`, one line"
    return int(status.group(1))


# --- the pipe-full start ---------------------------------------------------------------------

def _writing_stdout(pid: int) -> bool:
    """Is a thread of `pid` blocked writing into a pipe (its stdout, the only one it writes)?"""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return False
    for tid in tids:
        for name, looks in (("wchan", lambda s: "pipe_write" in s),
                            ("syscall", lambda s: s.split()[:2] == [WRITE_SYSCALL, "0x1"])):
            try:
                with open(f"/proc/{pid}/task/{tid}/{name}") as f:
                    if looks(f.read()):
                        return True
            except OSError:
                pass
    return False


def _start_with_full_stdout(exercise):
    """Start the worker with its stdout pipe already full, and wait until it is blocked writing to
    it: the first thing it prints (`ready`) cannot get through. Return (launch, worker pid or None,
    filler line). Nothing reads the pipe until the caller makes a Program of the launch."""
    for _attempt in range(3):
        # exercise.program() would read stdout while waiting for the start: launch without reading,
        # then fill the pipe through a write end of our own (a new open file description, so the
        # worker's own stdout stays blocking).
        launch = exercise._launch(exercise._spec("program", argv=[LOG]), stdout_pipe=True)
        writer = os.open(f"/proc/self/fd/{launch.stdout_fd}", os.O_WRONLY | os.O_NONBLOCK)
        try:
            size = fcntl.fcntl(writer, fcntl.F_GETPIPE_SZ)
            filler = b"#" * (size - 1) + b"\n"
            written = os.write(writer, filler)
        finally:
            os.close(writer)
        if written == len(filler):  # the pipe was still empty: the worker had printed nothing yet
            break
        # The interpreter started and printed within microseconds (an overloaded machine): again.
        exercise.stop(launch)
        for name in os.listdir(exercise.tmp):
            os.unlink(os.path.join(exercise.tmp, name))
    else:
        raise RuntimeError("three times, the worker printed before the grader could fill its stdout pipe "
                           "(grader bug or an overloaded machine)")
    warden = launch.popen.pid
    worker = _wait_until(lambda: (osinspect.children(warden) or [None])[0], READY_DEADLINE)
    blocked = worker and _wait_until(
        lambda: _writing_stdout(worker) or _stopped(worker) in ("Z", "gone"), READY_DEADLINE)
    if not blocked or _stopped(worker) in ("Z", "gone"):
        return launch, None, filler
    return launch, worker, filler


# --- tests ---------------------------------------------------------------------------------

def test_ready_is_printed_once_the_handlers_are_installed_and_outfile_is_open(exercise):
    launch, worker, filler = _start_with_full_stdout(exercise)
    if worker is None:  # it never tried to print: say why
        prog = Program(exercise, launch, exercise.timeout)
        if _stopped(prog.pid) in ("Z", "gone"):
            raise AssertionError(_ended(exercise, prog, "before printing `ready`"))
        raise Timeout(
            f"in {READY_DEADLINE:.0f} s the worker never tried to write `ready` on stdout: open OUTFILE, "
            "install the handlers and print ready at once")
    # Observed while print('ready') is blocked: nothing has read the pipe yet.
    masks = osinspect.signal_masks(worker)
    answered = masks.get("SigCgt", set()) | masks.get("SigBlk", set())
    missing = [SIGNAME[s] for s in SIGNAME if s not in answered]
    ignored = [SIGNAME[s] for s in SIGNAME if s in masks.get("SigIgn", set())]
    files = [os.path.basename(t) for t in osinspect.fd_targets(worker).values()]
    assert not missing, (
        f"the grader filled the worker's stdout pipe, so print('ready') stayed blocked in write(); at "
        f"that moment /proc/{worker}/status showed no handler for {', '.join(missing)} (SigCgt)"
        + (f" and {', '.join(ignored)} ignored (SigIgn)" if ignored else "")
        + ": a signal sent as soon as `ready` appears would "
        f"{'be thrown away' if set(missing) <= set(ignored) else 'kill the worker'}. Install every "
        "handler with signal.signal() before printing ready")
    assert LOG in files, (
        f"the grader filled the worker's stdout pipe, so print('ready') stayed blocked in write(); at "
        f"that moment /proc/{worker}/fd held no open {LOG} (open files: {sorted(set(files)) or 'none'}): "
        "open OUTFILE before printing ready")
    prog = Program(exercise, launch, exercise.timeout)  # from here on, the pipe is read
    first = _text(prog.readline(timeout=READY_DEADLINE, awaiting="the grader's own filler line"))
    if first.encode() + b"\n" != filler:
        raise RuntimeError("the filler line did not come back first (grader bug)")
    _expect_ready(exercise, prog)


def test_sigterm_finishes_the_record_appends_done_of_this_run_and_exits_0(exercise):
    """worker.log already holds an earlier run's lines: they must stay (OUTFILE opened in append mode),
    and this run's records follow, numbered from 0, then `done <records completed in this run>`."""
    earlier = "".join(f"rec {n} {_digest(n)}\n" for n in range(3)).encode() + b"done 3\n"
    _prefill(exercise, earlier)
    prog = _start(exercise)
    _wait_records(exercise, prog, earlier.count(b"rec ") + 2)  # two records of this run
    _stop(exercise, prog, signal.SIGTERM)
    _check_files([LOG], prog, "SIGTERM", earlier=earlier)


def test_sigint_is_handled_exactly_like_sigterm(exercise):
    prog = _start(exercise)
    _wait_records(exercise, prog, 2)
    _stop(exercise, prog, signal.SIGINT)
    _check_files([LOG], prog, "SIGINT")


def test_sighup_reopens_outfile_by_name_whether_or_not_it_was_renamed(exercise):
    prog = _start(exercise)
    path = _path(prog)
    _wait_records(exercise, prog, 2)
    # First a SIGHUP with OUTFILE still in place: reopening by name must lose nothing.
    frozen, _ = _signal_mid_record(exercise, prog, signal.SIGHUP)
    whole = frozen[:frozen.rindex(b"\n") + 1] if b"\n" in frozen else b""
    _wait_until(lambda: not _read(path).startswith(whole) or _complete_records(_read(path))
                >= _complete_records(frozen) + 2 or _stopped(prog.pid) in ("Z", "gone"), ROTATE_DEADLINE)
    assert _stopped(prog.pid) not in ("Z", "gone"), _ended(exercise, prog, f"after SIGHUP ({LOG} not renamed)")
    now = _read(path)
    made = sorted(n for n in os.listdir(prog.tmp) if n.startswith(LOG) and n != LOG)
    assert now.startswith(whole) or not made, (
        f"SIGHUP was sent while {LOG} was not renamed; just after, the folder holds {', '.join(made)} as "
        f"well: the worker renamed or created it itself. The rotation is another program's job (it renames "
        f"OUTFILE before sending SIGHUP, or not at all); on SIGHUP only close OUTFILE and open it again by name")
    assert now.startswith(whole), (
        f"SIGHUP was sent while {LOG} (not renamed) held {_complete_records(frozen)} whole records; "
        f"just after the reopen it starts with {_show(now[:60].decode(errors='replace'))}: the reopen "
        "erased the records. Open OUTFILE again in append mode, open(path, 'a'): 'w' truncates it")
    names: list[str] = []
    for i in (1, 2, 3):
        _rotate(exercise, prog, i, f"{LOG}.{i}", names)
    _stop(exercise, prog, signal.SIGTERM)
    _check_files([*names, LOG], prog, "SIGTERM")


def test_sigusr1_prints_the_status_of_the_whole_run_promptly_through_a_pipe(exercise):
    prog = _start(exercise)
    _wait_records(exercise, prog, 2)
    frozen, _ = _signal_mid_record(exercise, prog, signal.SIGUSR1)
    before = _complete_records(frozen)
    count = _read_status(exercise, prog, "SIGUSR1")
    after = _complete_records(_read(_path(prog)))
    assert before <= count <= after, (
        f"SIGUSR1 got `status {count}`, but {before} records were complete in {LOG} when the signal "
        f"was sent and {after} just after the line was read: count the records completed so far")
    # After a rotation, the count is still the run's, not the current file's.
    names: list[str] = []
    _rotate(exercise, prog, 1, f"{LOG}.1", names)
    _wait_records(exercise, prog, 2)
    frozen, _ = _signal_mid_record(exercise, prog, signal.SIGUSR1)
    old = _complete_records(_read(_path(prog, names[0])))
    before = old + _complete_records(frozen)
    count = _read_status(exercise, prog, "SIGUSR1 (after a rotation)")
    after = old + _complete_records(_read(_path(prog)))
    assert before <= count <= after, (
        f"after {LOG} was renamed to {names[0]} and reopened, SIGUSR1 got `status {count}`, but the run "
        f"had completed {before} records when the signal was sent ({old} in {names[0]}, "
        f"{before - old} in the new {LOG}) and {after} just after the line was read: count the records "
        "of the whole run, not of the current file")
    _stop(exercise, prog, signal.SIGTERM)
    done = _check_files([*names, LOG], prog, "SIGTERM")
    assert done >= count, f"`done {done}` is less than the last status ({count})"


def test_different_signals_arriving_together_are_each_answered(exercise):
    prog = _start(exercise)
    _wait_records(exercise, prog, 2)
    # SIGHUP and SIGUSR1 pending at once (sent while the worker is stopped): both must be acted on.
    names: list[str] = []
    _rotate(exercise, prog, 1, f"{LOG}.1", names, signal.SIGUSR1)
    _read_status(exercise, prog, "SIGHUP and SIGUSR1 (sent together)")
    _wait_records(exercise, prog, 2)
    # SIGTERM and SIGINT pending at once: still one clean stop.
    _stop(exercise, prog, signal.SIGTERM, signal.SIGINT)
    _check_files([*names, LOG], prog, "SIGTERM and SIGINT")
