"""Grader for mem_pipe (03_pipes): an in-memory synchronous pipe between threads, like Go's io.Pipe.

One sandbox launch per graded file (scenario_mem_pipe.pipes), shared by every test. In it, grader
threads call the student's MemPipe in an order the scenario forces, one move at a time: a write
with no reader yet, reads in pieces, a second and a third writer arriving while the first is half
read, two reads waiting before one write, close() / close_with_error() / close_reader() while others
wait. Each call runs in a thread of its own with a deadline, so no bug can hang the scenario.

Between two moves the scenario stops at a gate (a FIFO this test holds) and this side looks at the
process from outside, in /proc: it waits until the process is *quiet* (every thread asleep, state S,
with the same CPU time and the same count of context switches over three looks 3 ms apart: a thread
that blocks has reached its wait, one that returns has returned and gone), then records which grader
threads still exist (a call that has not returned), the open fds, the threads the student's code
started, how each waiting thread sleeps (/proc/PID/task/TID/syscall: a futex wait with or without a timeout,
a sleep...), and, at three moves, each waiting thread's CPU time and wake-ups over a short window. No sleep
decides an order; the only sleeps are the 3 ms between two looks and the measuring window.

How a thread sleeps is read from its system call only once the grader has seen, at the start, that it reads
right on this machine and interpreter: two grader threads wait there, one in Event.wait() and one in
Event.wait(3600), and they must show as an untimed and a timed wait. Where they do not (another machine, a
kernel that hides the file), the windows are longer instead: 60 ms, and 1.2 s for the read that waits from the
start to the end, long enough to see a Condition.wait(1.0) wake up on its own.

Cases are drawn per run (lengths, read sizes, bytes, the error classes, whether a write is half read
before close_reader()).
"""

import os
import random
import time

from graders.harness import holding, osinspect
from graders.harness.outcome import Todo

EVENT_DEADLINE = 3.0     # s for the scenario's next step (its own waits: 1 s per call, 0.25 s after a miss)
QUIET_DEADLINE = 1.0     # s for the process to fall quiet at a step (a right pipe: a few ms)
BUSY_DEADLINE = 0.1      # ... once a step was never quiet: a spinning pipe must not cost a second per step
WINDOW = 0.06            # s over which a waiting thread's CPU time and wake-ups are measured ...
SHORT_WINDOW = 0.01      # ... when its system call shows whether it waits with a timeout (a poll is then seen)
SENTINEL_WINDOW = 1.2    # s at least over which the read that waits from start to end is watched, when not
CPU_SLACK_MS = 0.2       # sum_exec_runtime is exact; a thread asleep for the whole window adds 0

NAMES = {"writer": "the thread in p.write", "reader": "the thread in p.read", "writer-2": "the second writer"}
WAIT_HINT = ("Wait with threading.Condition.wait() (or Lock.acquire()) in a `while` loop that re-checks the state "
             "under the lock, and wake the others with notify_all() whenever the state changes")

_SEEN: dict = {}
_CALLS_READ: dict = {}  # pid -> whether /proc/PID/task/TID/syscall tells a timed wait from an untimed one here
_SENTINEL: dict = {}   # pid -> the sentinel read's first look (time, state, CPU ms, context switches, wait kind)


# ----------------------------------------------------------------------------- the gate


class Gate:
    """A FIFO in the test's folder, held open read-write here: the scenario reads one byte per step."""

    def __init__(self, directory: str):
        self.name = f"gate-{random.randrange(1 << 30)}"
        path = os.path.join(directory, self.name)
        os.mkfifo(path, 0o644)
        self.fd = os.open(path, os.O_RDWR)

    def go(self) -> None:
        if self.fd is not None:
            os.write(self.fd, b"g")

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


# ------------------------------------------------------------------- looking from outside


def _calibrate(pid: int, data: dict) -> bool:
    """Do the grader's two waiting threads show, in their system calls, as an untimed and a timed wait?"""
    tids = data.get("calibrate") or {}
    ok = (tids.get("untimed") is not None and tids.get("timed") is not None
          and (osinspect.wait_kind(pid, tids["untimed"]) or ("",))[0] == "untimed"
          and (osinspect.wait_kind(pid, tids["timed"]) or ("",))[0] == "timed")
    _CALLS_READ[pid] = ok
    return ok


def _observe(pid: int, data: dict, busy: bool) -> dict:
    snap, quiet = holding.settle(pid, BUSY_DEADLINE if busy else QUIET_DEADLINE)
    grader = set(data.get("tids", [])) | {pid}
    names = {t: label for label, t in data.get("waiting", {}).items()}
    obs = {"quiet": quiet, "alive": bool(snap),
           "states": {label: (snap[t][0] if t in snap else "gone") for label, t in data.get("waiting", {}).items()},
           "running": [names.get(t, "grader" if t in grader else "yours")
                       for t, (state, _, _) in snap.items() if state != "S"],
           "extra_threads": sorted(t for t in snap if t not in grader)}
    try:
        obs["fds"] = {str(fd): target for fd, target in osinspect.fd_targets(pid).items()}
    except ProcessLookupError:
        obs["fds"] = {}
    calls_read = _CALLS_READ.get(pid, False)
    if calls_read and quiet:
        obs["waits"] = {label: osinspect.wait_kind(pid, t) for label, t in data.get("waiting", {}).items()
                        if label not in data.get("held", [])}
    if data.get("sentinel"):
        # the read that waits from the first phase to the last: its first look, and at the end (once at
        # least SENTINEL_WINDOW has passed since then) its last one
        first = _SENTINEL.setdefault(pid, None)
        if data.get("at") == "sentinel:end" and first is not None and not calls_read:
            rest = first[0] + SENTINEL_WINDOW - time.monotonic()
            if rest > 0:
                time.sleep(rest)   # the observation window itself, not a synchronisation
        look = osinspect.task_sample(pid, data["sentinel"])
        if look is not None:
            kind = osinspect.wait_kind(pid, data["sentinel"]) if calls_read else None
            obs["sentinel"] = (time.monotonic(), *look, kind)
            if first is None:
                _SENTINEL[pid] = obs["sentinel"]
    measured = {label: data["waiting"][label] for label in data.get("measure", []) if label in data.get("waiting", {})}
    if measured and snap:
        time.sleep(SHORT_WINDOW if calls_read else WINDOW)   # the measuring window itself, not a synchronisation
        after = osinspect.task_samples(pid)
        obs["measured"] = {}
        for label, tid in measured.items():
            a, b = snap.get(tid), after.get(tid)
            if a is None or b is None:
                obs["measured"][label] = None
            else:
                obs["measured"][label] = {"states": [a[0], b[0]], "cpu_ms": round(b[1] - a[1], 3),
                                          "wakeups": b[2] - a[2]}
    return obs


# --------------------------------------------------------------------------- the launch


def _session(exercise) -> dict:
    """Run the launch once per graded file; every test reads what it saw."""
    key = exercise.student_file
    if key in _SEEN:
        return _SEEN[key]
    seen = _SEEN[key] = {"steps": {}, "order": [], "report": None, "stop": None}
    gate = Gate(exercise.tmp)
    try:
        with exercise.start("pipes", timeout=EVENT_DEADLINE, seed=random.randrange(1 << 30), gate=gate.name) as run:
            seen["pid"] = run.pid
            busy, last = False, "the start"
            while True:
                data = run.event("step", timeout=EVENT_DEADLINE,
                                 awaiting=f"the grader's scenario to go on after {last} (every call of your code "
                                          "there has a deadline: is MemPipe() itself stuck, or spinning?)")
                if data.get("at") == "done":
                    break
                obs = _observe(run.pid, data, busy)
                if data.get("at") == "start":   # the process is quiet: the grader's two threads wait
                    seen["calls_read"] = _calibrate(run.pid, data)
                busy = busy or not obs["quiet"]
                seen["steps"][data["at"]] = obs
                seen["order"].append(data["at"])
                last = f"step {data['at']!r}"
                gate.go()
            seen["report"] = run.result(timeout=EVENT_DEADLINE, awaiting="the grader's scenario to finish")
    except Exception as exc:  # noqa: BLE001 - a timeout, todo, a crash...: kept for every test that needs it
        seen["stop"] = exc
    finally:
        gate.close()
    return seen


def _phase(exercise, name: str) -> tuple[dict, dict]:
    """The scenario's report of one phase and the observations of the whole launch."""
    seen = _session(exercise)
    report = (seen["report"] or {}).get(name)
    if report is None:
        raise seen["stop"] or AssertionError(f"the grader saw no report of its phase {name!r} (grader bug)")
    if "todo" in report:
        raise Todo(f"NotImplementedError was raised{_at(report['todo'])}: this part of MemPipe is still to do")
    if "crashed" in report:
        c = report["crashed"]
        raise AssertionError(f"{c['type']}: {c['text']}{_at(c)} while the grader used a MemPipe: MemPipe() and "
                             "its methods must work as the docstring says")
    _todo_in(report)
    return report, seen


def _todo_in(value) -> None:
    """NotImplementedError from any call: the part is still to do."""
    if isinstance(value, dict):
        if value.get("todo") is True:
            raise Todo(f"NotImplementedError was raised{_at(value)} by {value.get('call', 'a call')}: "
                       "this part of MemPipe is still to do")
        for v in value.values():
            _todo_in(v)
    elif isinstance(value, list):
        for v in value:
            _todo_in(v)


# ------------------------------------------------------------------------------ wording


def _at(exc: dict) -> str:
    return f" ({exc['where']})" if exc.get("where") else ""


def _show(value) -> str:
    if isinstance(value, bytes):
        return "b'' (end-of-file)" if not value else f"{len(value)} bytes"
    if isinstance(value, dict) and "other" in value:
        return value["other"]
    return repr(value)


def _said(o: dict) -> str:
    """'p.read(17) returned 12 bytes', 'p.read(5) raised ValueError: x (mem_pipe.py line 3, in read)'..."""
    if o["state"] == "waiting":
        return f"{o['call']} had not returned 1 s later"
    if o["state"] == "raised":
        text = f"{o['type']}: {o['text']}" if o["text"] else o["type"]
        return f"{o['call']} raised {text}{_at(o)}"
    return f"{o['call']} returned {_show(o.get('value'))}"


def _stream_bytes(o: dict, eof_ok: bool = False, before: int = 0) -> tuple[bytes, str | None]:
    """What a stream of reads returned, and what went wrong with it (None: nothing). `before`: bytes read
    before the stream began, counted in the messages."""
    out = b""
    for n, chunk in o.get("reads", []):
        if not isinstance(chunk, bytes):
            return out, f"p.read({n}) returned {_show(chunk)}, not bytes"
        if len(chunk) > n:
            return out, f"p.read({n}) returned {len(chunk)} bytes, more than the {n} asked for"
        if not chunk and not eof_ok:
            return out, (f"p.read({n}) returned b'' (end-of-file) after {before + len(out)} bytes, though nobody "
                         "had closed the pipe: b'' means the writer is done for good; with nothing offered yet, "
                         "read waits")
        out += chunk
    if o["state"] == "waiting":
        return out, f"after {before + len(out)} bytes, a p.read(...) had not returned 1 s later"
    if o["state"] == "raised":
        return out, _said(o)
    if "raised" in o and not eof_ok:
        e = o["raised"]
        return out, f"after {before + len(out)} bytes, p.read(...) raised {e['type']}: {e['text']}{_at(e)}"
    return out, None


def _first_difference(got: bytes, want: bytes) -> int:
    return next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))


def _expect_write(o: dict, data: bytes, meaning: str) -> None:
    assert o["state"] == "returned", f"{_said(o)}; every byte had been read, so it must return len(data): {meaning}"
    assert o["value"] == len(data), (
        f"{o['call']} returned {_show(o['value'])} once every byte had been read; expected {len(data)}, len(data): "
        f"{meaning}")


def _who(label: str) -> str:
    """'writer-2' -> 'the thread of writer 2, in p.write'...: a grader thread named by the call it is in."""
    if label in NAMES:
        return NAMES[label]
    kind, _, k = label.partition("-")
    call = {"writer": "p.write", "reader": "p.read"}.get(kind)
    return f"the thread of {kind} {k}, in {call}" if call and k.isdigit() else f"the grader's thread in {label}"


def _early(obs: dict, label: str, flag: bool) -> bool:
    """A call returned before it should have: seen from outside (its thread is gone) or inside."""
    return flag or obs.get("states", {}).get(label) == "gone"


# -------------------------------------------------------------------------------- tests


def test_the_pipe_lives_in_memory_it_opens_no_fd_and_starts_no_thread(exercise):
    _, seen = _phase(exercise, "made")
    steps, order = seen["steps"], seen["order"]
    base = steps["start"]["fds"]
    for name in order:
        obs = steps[name]
        new = {fd: t for fd, t in obs["fds"].items() if base.get(fd) != t}
        where = "just after MemPipe() returned" if name == "made" else f"at the grader's step {name!r}"
        assert not new, (
            f"{where}, /proc/PID/fd of your process showed fd {', '.join(f'{fd} -> {t}' for fd, t in new.items())}, "
            "open then but not before any MemPipe existed. A MemPipe lives in the memory of the process: the bytes "
            "go from the writer's object straight to the reader, under a lock, with no os.pipe(), file or socket "
            "(that is what makes it an in-memory pipe, 内存管道, like Go's io.Pipe)")
        assert not obs["extra_threads"], (
            f"{where}, /proc/PID/task showed {len(obs['extra_threads'])} thread(s) the grader did not start "
            f"(tid {', '.join(map(str, obs['extra_threads'][:3]))}). MemPipe starts no thread: the threads that call "
            "write and read do the work themselves, and wake each other through a threading.Condition")


def test_write_returns_only_once_readers_took_every_byte(exercise):
    report, seen = _phase(exercise, "sync")
    data = report["data"]
    call = f"p.write(<{len(data)} bytes>)"
    first = seen["steps"].get("sync:write-waits", {})
    assert not _early(first, "writer", report["returned_early"][0]), (
        f"{call} returned before any read (its thread was gone from /proc/PID/task while no reader had called "
        "p.read yet). The pipe is synchronous, like Go's io.Pipe: it has no buffer, so write must wait until readers "
        f"have taken every byte. {WAIT_HINT}")
    got = 0
    for i, r in enumerate(report["reads"]):
        if r["state"] != "returned" or not isinstance(r.get("value"), bytes):
            raise AssertionError(f"{_said(r)} while {call} was offering its bytes: a read of an offered write returns "
                                 "between 1 and n of its bytes")
        got += len(r["value"])
        if i + 1 < len(report["returned_early"]):
            name = f"sync:after-read-{i + 1}"
            assert not _early(seen["steps"].get(name, {}), "writer", report["returned_early"][i + 1]), (
                f"{call} returned after the reader had taken only {got} of its {len(data)} bytes (reads of "
                f"{', '.join(str(x['n']) for x in report['reads'][:i + 1])} bytes). Write returns only when the last "
                "byte is taken: what a read does not take stays offered, and the writer waits on. Keep what is left "
                "of the offer (a memoryview slice) and wait while it is not empty")
    rest = report.get("rest")
    if rest is not None and rest["state"] != "returned":
        raise AssertionError(f"{_said(rest)}, while {call} still offered {len(data) - got} bytes")
    _expect_write(report["write"], data, "the write is complete when the last byte has been read")


def test_read_returns_at_most_n_bytes_and_the_rest_of_the_write_follows_in_order(exercise):
    report, seen = _phase(exercise, "sync")
    data = report["data"]
    out = b""
    for r in report["reads"]:
        if r["state"] != "returned":
            raise AssertionError(f"{_said(r)} while a write of {len(data)} bytes was offered: read returns between "
                                 "1 and n bytes of it at once")
        value = r["value"]
        assert isinstance(value, bytes), f"{_said(r)}: read returns bytes"
        assert value, (f"{r['call']} returned b'' while a write of {len(data)} bytes was offered and nobody had closed "
                       "the pipe: b'' means end-of-file; while data is offered, read returns 1 to n bytes of it")
        assert len(value) <= r["n"], (
            f"{r['call']} returned {len(value)} bytes, more than the {r['n']} it asked for: take at most n bytes of "
            "the offer (offer[:n]) and leave the rest offered for the next read")
        out += value
    if "rest" in report:
        more, problem = _stream_bytes(report["rest"])
        assert problem is None, f"{problem}, reading the rest of a write of {len(data)} bytes after {len(out)} of them"
        out += more
    sizes = ", ".join(str(r["n"]) for r in report["reads"])
    i = _first_difference(out, data)
    assert out == data, (
        f"a write of {len(data)} bytes read with p.read({sizes}) and then p.read(...) until every byte came gave "
        f"{len(out)} bytes that differ from the data written from byte {i} on: the reads together must return the "
        "write's bytes once each, in order. After a read takes offer[:n], the next read starts at offer[n:]")


def test_read_waits_for_a_writer_then_returns_its_bytes(exercise):
    report, seen = _phase(exercise, "read_first")
    n, data = report["n"], report["data"]
    obs = seen["steps"].get("read_first:read-waits", {})
    if _early(obs, "reader", report["returned_early"]):
        early = report.get("early") or {"call": f"p.read({n})", "state": "returned", "value": None}
        raise AssertionError(
            f"{_said(early)} before any thread had written to the pipe: with nothing offered and the pipe not "
            f"closed, read must wait (b'' would mean end-of-file). {WAIT_HINT}")
    r = report["read"]
    if r["state"] == "waiting":
        raise AssertionError(
            f"p.read({n}) was waiting when a thread called p.write(<{len(data)} bytes>), and it had not returned 1 s "
            "later: a wake-up was lost. The write must wake the waiting read (notify_all after offering the bytes), "
            "and the read, woken, must look again at what is offered")
    assert r["state"] == "returned", f"{_said(r)} after p.write(<{len(data)} bytes>) offered its bytes"
    value = r["value"]
    assert isinstance(value, bytes) and value, (
        f"{_said(r)} once p.write(<{len(data)} bytes>) offered its bytes; expected 1 to {n} bytes of them")
    assert len(value) <= n and data.startswith(value), (
        f"{_said(r)} once p.write(<{len(data)} bytes>) offered its bytes; expected the first 1 to {n} bytes of the "
        "write")
    if "rest" in report:
        more, problem = _stream_bytes(report["rest"])
        assert problem is None and value + more == data, (
            problem or f"reading the rest of the write gave bytes that differ from it from byte "
                       f"{len(value) + _first_difference(more, data[len(value):])} on")
    _expect_write(report["write"], data, "the read took every byte")


def test_writes_of_several_threads_never_interleave(exercise):
    report, seen = _phase(exercise, "turns")
    a, b, c = report["blobs"]
    first = report["first"]
    assert first["state"] == "returned" and isinstance(first.get("value"), bytes) and first["value"], (
        f"{_said(first)} while writer 1 offered {len(a)} bytes; expected 1 to {first['n']} of them")
    out, problem = _stream_bytes(report["rest"], before=len(first["value"]))
    out = first["value"] + out
    whole = (a + b + c, a + c + b)
    if problem and any(w.startswith(out) for w in whole):
        raise AssertionError(f"writer 1 ({len(a)} bytes) had been read in part ({len(first['value'])} bytes) when "
                             f"writers 2 and 3 ({len(b)} and {len(c)} bytes) came; reading on, {problem}. "
                             "A write waiting for its turn must be woken when the write before it is complete, "
                             "and then offer its own bytes")
    if out in whole:
        for o, blob in zip(report["writes"], (a, b, c)):
            _expect_write(o, blob, "its bytes had all been read")
        return
    broken = max(_first_difference(out, a + b + c), _first_difference(out, a + c + b))
    raise AssertionError(
        f"three threads wrote at once: writer 1 {len(a)} bytes (the reader had taken {len(first['value'])} of them "
        f"when the others came), writer 2 {len(b)}, writer 3 {len(c)}. The reader got {len(out)} bytes"
        + (f" (and then, {problem})" if problem else "")
        + f", which are not the three writes one after the other: they differ from writer 1's bytes followed by a "
        f"whole other write from byte {broken} on{_whose(out, broken, (a, b, c))}. One write at a time: a write "
        "takes its turn (a lock held from its first byte to its last, as Go's io.Pipe does) before it offers "
        "anything, and the next write waits until the last byte of this one is read; never replace or extend an "
        "offer that is still being read")


def _whose(out: bytes, i: int, blobs) -> str:
    """', where it gets bytes of writer 2' when the 32 bytes from i on occur in a writer's data."""
    piece = out[i:i + 32]
    if len(piece) < 8:
        return ""
    for k, blob in enumerate(blobs, 1):
        if piece in blob:
            return f", where the reader got bytes of writer {k}'s write"
    return ""


def test_close_gives_end_of_file_once_the_data_is_read(exercise):
    report, seen = _phase(exercise, "eof")
    obs = seen["steps"].get("eof:read-waits", {})
    assert not _early(obs, "reader", report["returned_early"]), (
        "p.read(n) returned before anything was written or closed: with nothing offered, read waits. "
        f"{WAIT_HINT}")
    assert report["close"]["state"] == "returned", f"{_said(report['close'])}: close() returns at once"
    r = report["read"]
    assert r["state"] == "returned" and r.get("value") == b"", (
        f"a read was waiting when another thread called p.close(), and then {_said(r)}: close() must wake every "
        "waiting read (notify_all), and a read that finds the pipe closed with nothing offered returns b'' "
        "(end-of-file), as os.read does on a pipe whose writers are all gone")
    again = report["again"]
    assert again["state"] == "returned" and again.get("value") == b"", (
        f"after p.read had returned b'', {_said(again)}: end-of-file is for good; every later read returns b'' at once")
    data = report["data"]
    stream = report["stream"]
    out, problem = _stream_bytes(stream, eof_ok=True)
    if stream["state"] == "waiting":
        raise AssertionError(
            f"a thread wrote {len(data)} bytes then called close(); after {len(out)} bytes, a p.read(...) had not "
            "returned 1 s later: once the data is read, read must see end-of-file and return b''")
    assert problem is None, f"a thread wrote {len(data)} bytes then called close(); {problem}"
    reads = stream["reads"]
    if "raised" in stream:
        e = stream["raised"]
        raise AssertionError(f"a thread wrote {len(data)} bytes then called close(); reading them, p.read raised "
                             f"{e['type']}: {e['text']}{_at(e)} after {len(out)} bytes: close() gives end-of-file "
                             "(b''), not an error")
    assert reads and reads[-1][1] == b"" and out == data, (
        f"a thread wrote {len(data)} bytes then called close(); the reads returned {len(out)} bytes"
        + ("" if out == data[:len(out)] else f" that differ from the data from byte {_first_difference(out, data)} on")
        + (" and then b''" if reads and reads[-1][1] == b"" else " and never b''")
        + f": expected the {len(data)} bytes, then b''. Data offered before close() is read first; end-of-file comes "
          "only when nothing is offered any more")
    after = report["after"]
    assert after["state"] == "returned" and after.get("value") == b"", (
        f"once end-of-file had been read, {_said(after)}: every later read returns b'' at once")
    _expect_write(report["write"], data, "the data was read before close()")


def test_close_with_error_makes_read_raise_that_very_exception(exercise):
    report, seen = _phase(exercise, "error")
    obs = seen["steps"].get("error:read-waits", {})
    assert not _early(obs, "reader", report["returned_early"]), (
        f"p.read(n) returned before anything was written or closed: with nothing offered, read waits. {WAIT_HINT}")
    err, err2 = report["errors"]
    assert report["close"]["state"] == "returned", f"{_said(report['close'])}: close_with_error returns at once"
    for which, o in (("a read waiting when another thread called it", report["read"]),
                     ("a read after that", report["again"])):
        if o["state"] == "raised" and o.get("same_error"):
            continue
        how = (f" ({o['type']}: {o['text']}, another object)" if o["state"] == "raised" else "")
        raise AssertionError(
            f"after p.close_with_error({err}), {which}: {_said(o)}{how}; expected it to raise that very exception "
            f"object ({err}). Keep the exception object given to close_with_error, wake the waiting reads "
            "(notify_all), and `raise` it in every read that finds nothing offered")
    data = report["data"]
    stream = report["stream"]
    out, problem = _stream_bytes(stream, eof_ok=True)
    head = f"a thread wrote {len(data)} bytes then called close_with_error({err2})"
    if stream["state"] == "waiting":
        raise AssertionError(f"{head}; after {len(out)} bytes, a p.read(...) had not returned 1 s later: once the "
                             "data is read, read must raise that exception")
    assert problem is None, f"{head}; {problem}"
    assert out == data, (f"{head}; the reads returned {len(out)} bytes before the end, expected the {len(data)} bytes "
                         "written: the data offered before the error is read first")
    raised = stream.get("raised")
    assert raised is not None and stream.get("same_error"), (
        f"{head}; after the {len(data)} bytes, "
        + (f"p.read raised {raised['type']}: {raised['text']}{_at(raised)}, not that very object"
           if raised else "p.read returned b'' (end-of-file)")
        + f": expected it to raise the exception given to close_with_error, {err2}")
    _expect_write(report["write"], data, "the data was read before close_with_error")


def test_writes_raise_broken_pipe_once_the_reader_closed(exercise):
    report, seen = _phase(exercise, "epipe")
    assert report["close"]["state"] == "returned", f"{_said(report['close'])}: close_reader() returns at once"
    w1, w2 = report["writes"]
    part = report.get("partly_read")
    read = (f" (the reader had taken {len(part['value'])} of its bytes)"
            if part and part["state"] == "returned" and isinstance(part.get("value"), bytes) else "")
    for what, o in ((f"writer 1 was offering its bytes{read}", w1), ("writer 2 was waiting for its turn", w2)):
        if o["state"] == "raised" and o["broken_pipe"]:
            continue
        raise AssertionError(
            f"{what} when the reader called p.close_reader(); then {_said(o)}. With no reader left, nobody will "
            "ever take those bytes: every write waiting, to hand over its bytes or for its turn, must wake up and "
            "raise BrokenPipeError, the in-memory EPIPE (an OS pipe with no reader gives SIGPIPE or EPIPE). "
            "close_reader() sets a flag and wakes everyone (notify_all); a write checks that flag whenever it wakes")
    later = report["later"]
    assert later["state"] == "raised" and later["broken_pipe"], (
        f"{_said(later)}: after close_reader(), every write raises BrokenPipeError at once")


def test_a_waiting_call_sleeps_and_uses_no_cpu(exercise):
    for name in ("sync", "read_first", "turns"):
        _phase(exercise, name)
    seen = _session(exercise)
    steps = seen["steps"]
    for name in seen["order"]:
        obs = steps[name]
        if not obs["quiet"] and obs["alive"]:
            who = ", ".join(NAMES.get(x, {"yours": "a thread of your code"}.get(x, f"the grader's thread {x}"))
                            for x in obs["running"][:3]) or "some thread"
            raise AssertionError(
                f"at the grader's step {name!r}, every call of your pipe was either waiting or done, yet the process "
                f"never fell quiet: in /proc, {who} kept running (state R) or waking up for {QUIET_DEADLINE:.0f} s. A "
                f"waiting call must sleep until another call wakes it. {WAIT_HINT}; never loop on a flag, call "
                "time.sleep, or wait with a timeout")
    for name in seen["order"]:
        for label, kind in (steps[name].get("waits") or {}).items():
            if kind and kind[0] == "timed":
                who = _who(label)
                raise AssertionError(
                    f"at the grader's step {name!r}, {who} was waiting (nothing it waits for had happened) and "
                    f"/proc/PID/task/TID/syscall showed it asleep in {kind[1]}() with a timeout: it would wake up on "
                    "its own, with nothing changed, and look again (a poll). A waiting call must sleep until another "
                    f"call wakes it. {WAIT_HINT}; never call time.sleep, or wait with a timeout (Condition.wait(0.05), "
                    "Lock.acquire(timeout=...))")
    window = SHORT_WINDOW if seen.get("calls_read") else WINDOW
    found = 0
    for name, label in (("sync:write-waits", "writer"), ("read_first:read-waits", "reader"),
                        ("turns:writer-2-waits", "writer-2")):
        m = (steps.get(name) or {}).get("measured", {}).get(label)
        if m is None:
            continue
        found += 1
        what = {"writer": "p.write with no reader yet", "reader": "p.read with nothing written yet",
                "writer-2": "a second p.write waiting for its turn"}[label]
        assert m["states"] == ["S", "S"] and m["cpu_ms"] <= CPU_SLACK_MS and m["wakeups"] == 0, (
            f"over {window * 1000:.0f} ms, the thread in {what} was in state {'/'.join(m['states'])} in "
            f"/proc/PID/task/TID/stat, used {m['cpu_ms']:.2f} ms of CPU and was woken {m['wakeups']} time(s) "
            "(context switches in its status); a thread that waits must sleep (state S) until another call wakes "
            f"it: 0 ms and no wake-up. {WAIT_HINT}; never loop on a flag, call time.sleep, or wait with a timeout")
    assert found, ("no call of your pipe could be seen waiting (each returned at once): the other tests say why")


def test_no_wake_up_is_lost_whatever_order_the_threads_come_in(exercise):
    report, seen = _phase(exercise, "readers")
    data, (n1, n2) = report["data"], report["n"]
    for k, early in enumerate(report["returned_early"]):
        obs = seen["steps"].get(f"readers:reader-{2 if k else 1}-waits", {})
        assert not _early(obs, f"reader-{k + 1}", early), (
            f"reader {k + 1}'s p.read returned before anything was written: with nothing offered, read waits. "
            f"{WAIT_HINT}")
    r1, r2 = report["reads"]
    for k, o in enumerate((r1, r2), 1):
        assert o["state"] != "waiting", (
            f"reads of {n1} and {n2} bytes were both waiting when one thread wrote {len(data)} bytes (more than both "
            f"together); reader {k}'s {o['call']} had not returned 1 s later: a wake-up was lost. When a write "
            "offers data, every waiting read must "
            "wake (notify_all: notify() wakes one thread, perhaps not the one that can go on), and a read that leaves "
            "bytes on offer leaves them for the other readers")
        assert o["state"] == "returned" and isinstance(o.get("value"), bytes) and o["value"], (
            f"{_said(o)} while a write of {len(data)} bytes was offered; expected 1 to {(n1, n2)[k - 1]} bytes of it")
    p1, p2 = r1["value"], r2["value"]
    rest = b""
    if "rest" in report:
        rest, problem = _stream_bytes(report["rest"])
        assert problem is None, f"reading what the two readers left of the write: {problem}"
    assert data in (p1 + p2 + rest, p2 + p1 + rest), (
        f"two waiting reads took {len(p1)} and {len(p2)} bytes of a {len(data)}-byte write and the next reads "
        f"{len(rest)}: together they are not the write's bytes in order. Each read takes from where the read "
        "before it stopped")
    _expect_write(report["write"], data, "the readers took every byte")
    turns, _ = _phase(exercise, "turns")
    for k, o in ((2, turns["writes"][1]), (3, turns["writes"][2])):
        assert o["state"] != "waiting", (
            f"writers 2 and 3 waited for their turn while writer 1's bytes were read; every byte of the three writes "
            f"was read, yet writer {k}'s {o['call']} never returned: a wake-up was lost. When a write completes, "
            "the writes waiting for their turn and the reads must all hear of it (notify_all), and each looks "
            "again at the state")


def test_a_write_longer_than_4096_bytes_stays_whole(exercise):
    report, seen = _phase(exercise, "big")
    a, b = report["blobs"]
    first, second = report["first"], report["second"]
    for o in (first, second):
        assert o["state"] == "returned" and isinstance(o.get("value"), bytes) and o["value"], (
            f"{_said(o)} while writer 1 offered {len(a)} bytes; expected 1 to {o['n']} of them")
    head = first["value"] + second["value"]
    out, problem = _stream_bytes(report["rest"], before=len(head))
    out = head + out
    if out == a + b:
        for o, blob in zip(report["writes"], (a, b)):
            _expect_write(o, blob, "its bytes had all been read")
        return
    broken = _first_difference(out, a + b)
    raise AssertionError(
        f"writer 1 wrote {len(a)} bytes in one call (more than PIPE_BUF, 4096); after a first read had taken "
        f"{len(first['value'])} of them, writer 2 began a write of {len(b)} bytes; the next read, "
        f"p.read({second['n']}), "
        f"took {len(second['value'])} bytes, and the grader held writer 1's thread (before it could take your lock "
        f"again) until the process was quiet. The reader got {len(out)} bytes"
        + (f" (and then, {problem})" if problem else "")
        + f", which differ from writer 1's bytes followed by writer 2's from byte {broken} on"
        + f"{_whose(out, broken, (a, b))}. "
        "The bytes of one write reach the readers together, whatever its length: unlike a kernel pipe, which "
        "keeps only writes of up to PIPE_BUF bytes whole, a write holds its turn from its first byte to its last "
        "and never gives it up in between (no pieces, no turn per piece)")


def test_a_write_waiting_on_one_pipe_does_not_hold_up_another_pipe(exercise):
    report, seen = _phase(exercise, "two")
    a, b = report["a"], report["b"]
    r2 = report["read2"]
    out, problem = _stream_bytes(r2)
    assert problem is None and out == b, (
        f"p1.write(<{len(a)} bytes>) was waiting (nobody read p1) when another thread called "
        f"p2.write(<{len(b)} bytes>) on a second MemPipe p2 and a third read p2: "
        + (problem or f"the reads of p2 returned {len(out)} bytes that are not p2's write")
        + ". Each pipe is on its own: a write waits for the readers and for the turn of its own pipe only. Keep "
        "the lock, the condition and the turn in the object (self._turn = threading.Lock() in __init__), never in "
        "the class or the module, where every MemPipe would share them")
    _expect_write(report["write2"], b, "p2's reader took every byte")
    out1, problem = _stream_bytes(report["read1"])
    assert problem is None and out1 == a, (
        f"reading p1 after p2 was done: {problem or 'the reads of p1 did not return its write'}")
    _expect_write(report["write1"], a, "p1's reader took every byte")


def test_close_while_a_write_is_half_read_still_delivers_the_rest(exercise):
    report, seen = _phase(exercise, "close_mid")
    data, first = report["data"], report["first"]
    assert first["state"] == "returned" and isinstance(first.get("value"), bytes) and first["value"], (
        f"{_said(first)} while a write of {len(data)} bytes was offered; expected 1 to {first['n']} of them")
    assert report["close"]["state"] == "returned", f"{_said(report['close'])}: close() returns at once"
    got = first["value"]
    rest = report["rest"]
    out, problem = _stream_bytes(rest, eof_ok=True, before=len(got))
    reads = rest.get("reads", [])
    if problem is None and out == data[len(got):] and reads and reads[-1][1] == b"" and "raised" not in rest:
        _expect_write(report["write"], data, "every byte was read before end-of-file")
        return
    raise AssertionError(
        f"a thread's p.write(<{len(data)} bytes>) was offering its bytes; a read took {len(got)} of them; then "
        f"another thread called p.close(). Reading on, "
        + (problem + "; " if problem else "")
        + f"the reads returned {len(out)} more bytes"
        + (" and then b''" if reads and reads[-1][1] == b"" else "")
        + f", where the {len(data) - len(got)} bytes still offered were expected, then b''. close() means "
          "'no more writes', not 'drop what is offered': end-of-file comes only once every byte written before "
          "it has been read, so a read looks at what is still offered before it looks at the close flag")


def test_a_woken_read_with_nothing_left_waits_on_rather_than_return_b_empty(exercise):
    report, seen = _phase(exercise, "short")
    data, (n1, n2) = report["data"], report["n"]
    assert report["write"]["state"] == "returned", (
        f"reads of {n1} and {n2} bytes were waiting when a thread wrote {len(data)} bytes; {_said(report['write'])}: "
        "one read can take the whole write, and then the write returns")
    obs = seen["steps"].get("short:written", {})
    done = [d or obs.get("states", {}).get(f"reader-{k}") == "gone"
            for k, d in enumerate(report["done_before_close"], 1)]
    reads = report["reads"]
    for k, (o, d) in enumerate(zip(reads, done), 1):
        if d and o["state"] == "returned" and o.get("value") == b"":
            raise AssertionError(
                f"reads of {n1} and {n2} bytes were both waiting when one thread wrote {len(data)} bytes (fewer than "
                f"either asked for); reader {k}'s {o['call']} returned b'' (end-of-file) before anyone closed the "
                "pipe: the other read had taken every byte of the write. A woken read must look again at the state "
                "under the lock, in a `while` loop (not an `if`), and wait on when nothing is offered and the pipe "
                "is not closed: b'' means end-of-file, and a wake-up is only a hint that something changed")
    assert sum(done) == 1, (
        f"reads of {n1} and {n2} bytes were both waiting when one thread wrote {len(data)} bytes; once the process "
        f"was quiet, {sum(done)} of the two reads had returned: expected exactly one (the one that took the write), "
        "while the other waits for the next write or close()")
    got = [o for o, d in zip(reads, done) if d]
    assert got[0]["state"] == "returned" and got[0].get("value") == data, (
        f"{_said(got[0])}, the only write offering {len(data)} bytes; expected those {len(data)} bytes")
    other = [o for o, d in zip(reads, done) if not d][0]
    assert other["state"] == "returned" and other.get("value") == b"", (
        f"the read left waiting was woken by p.close(), and then {_said(other)}: expected b'' (end-of-file)")


def test_a_long_wait_never_wakes_up_on_its_own(exercise):
    _phase(exercise, "made")
    seen = _session(exercise)
    looks = [seen["steps"][name].get("sentinel") for name in seen["order"]]
    looks = [x for x in looks if x]
    if seen["report"] is not None and seen["report"].get("sentinel", {}).get("returned_early"):
        raise AssertionError("p.read(10) on a pipe nobody wrote to and nobody closed returned: with nothing offered, "
                             f"read waits. {WAIT_HINT}")
    assert len(looks) >= 2, "the grader could not watch a waiting read of your pipe (the other tests say why)"
    timed = [x[4] for x in looks if x[4] and x[4][0] == "timed"]
    assert not timed, (
        f"a p.read(10) on a pipe nobody wrote to and nobody closed was waiting, and /proc/PID/task/TID/syscall showed "
        f"its thread asleep in {timed[0][1]}() with a timeout: it wakes up on its own once the timeout runs out, "
        "though "
        "nothing happened to that pipe. A wait with a timeout (Condition.wait(1.0), 'a safety net in case a notify is "
        "lost') is a poll; with every wait in a `while` loop and notify_all() on each change, no notify is lost. "
        f"{WAIT_HINT}")
    (t0, _, cpu0, sw0, _), (t1, _, cpu1, sw1, _) = looks[0], looks[-1]
    assert sw1 == sw0 and cpu1 - cpu0 <= CPU_SLACK_MS, (
        f"a p.read(10) on a pipe nobody wrote to waited for {t1 - t0:.1f} s, and in that time its thread was woken "
        f"{sw1 - sw0} time(s) (context switches in /proc/PID/task/TID/status) and used {cpu1 - cpu0:.2f} ms of CPU; "
        "nothing happened to that pipe, so nothing may wake it: expected 0. A wait with a timeout "
        "(Condition.wait(1.0), 'a safety net in case a notify is lost') wakes up on its own; with every wait in a "
        f"`while` loop and notify_all() on each change, no notify is lost. {WAIT_HINT}")
