"""Grader for exercises/01_processes/whoami.py (contract: its docstring and CONTRACT-whoami.md).

One sandbox launch, shared by every test (cached per graded file): the scenario calls
report_ids(gate) three times. Each call is watched from outside, in /proc, at moments the test
chooses, because the scenario and the student's child wait at FIFOs the test holds open:

- before the call (the scenario waits at `go`): the caller's pid, program, argv and open fds, and
  its two other children (one asleep, one a zombie), which report_ids must leave alone;
- during the call: the student's child waits at `gate` (it must read it to end-of-file before it
  reports). Meanwhile the test finds it among the caller's children and reads its stat (ppid),
  exe, cmdline and fds: is it a fork of the caller, and does a pipe join it to the caller? It
  attaches to it with ptrace (PTRACE_SEIZE, PTRACE_O_TRACEEXIT: nothing changes for the child
  until it exits). Then it writes a random token into the FIFO in two pieces (the second only
  once the child has read the first) and closes it: the token can reach the report only through
  that child, after that moment. The tokens are random bytes of any value (NUL, newlines,
  bytes that are not UTF-8, blanks at both ends); the last call's is bigger than a pipe holds;
- at the child's exit: the kernel stops it at the start of its exit (PTRACE_EVENT_EXIT) and tells
  the test its exit status. The test holds it there until the caller is asleep in a wait call
  (or cannot go on before the child's files close, or has returned), then lets it go: a caller
  that does not wait for the child to end has returned by then, every time;
- after the call (the scenario waits at `finish`): is the child reaped, are the caller's other
  children untouched, which fds are left open, is `gate` still open?

No sleep synchronises anything: every step waits for something /proc shows, with a deadline.
"""

import os
import random
import time

from graders.harness import holding, osinspect
from graders.harness.outcome import Failure, Outcome, Timeout

CALLS = 3                # two with short tokens, the last with one bigger than a pipe holds
BIG = (200 << 10, 400 << 10)  # the last token's first piece, in bytes (a pipe holds 64 KiB)
PIPE_HOLDS = 64 << 10
FIND_DEADLINE = 1.0      # for the child to appear (a correct report_ids forks within a few ms)
PIECE_DEADLINE = 1.0     # for the child to read the first piece of the token
CALL_DEADLINE = 1.5      # for report_ids to return once the gate is closed (a correct one: a few ms)
HOLD_DEADLINE = 1.0      # how long the child is held at its exit, at most, for the caller to wait
POLL = 0.002
CALL = "report_ids(gate)"

_SEEN: dict = {}         # graded file -> what the launch showed (or the failure that ended it)




# -- the tokens, drawn afresh each run -----------------------------------------------------------

_BLANKS = (b" ", b"\t", b"\n", b"\r\n", b"  ", b"\n ")
_NOT_UTF8 = (b"\xff", b"\xfe", b"\xc0", b"\x80", b"\xf8", b"\xed\xa0\x80")


def _scatter(body: bytes, extras: list[bytes]) -> bytes:
    for extra in extras:
        at = random.randint(0, len(body))
        body = body[:at] + extra + body[at:]
    return body


def _pieces(big: bool) -> list[bytes]:
    """Two pieces of a token: any bytes, a blank first and last, a NUL, newlines, bytes that are
    not UTF-8 (so a token decoded as text, split into lines or stripped comes back different)."""
    size = random.randint(*BIG) if big else random.randint(4, 12)
    first = random.choice(_BLANKS) + _scatter(os.urandom(size), [b"\0", b"\n", random.choice(_NOT_UTF8)])
    second = _scatter(os.urandom(random.randint(4, 12)), [b"\n", random.choice(_NOT_UTF8), b"\0"])
    return [first, second + random.choice(_BLANKS)]


def _bytes_shown(data) -> str:
    if not isinstance(data, (bytes, bytearray)) or len(data) <= 48:
        return repr(data)
    return f"{len(data)} bytes ({bytes(data[:20])!r} ... {bytes(data[-12:])!r})"


# -- ptrace: hold the child at the start of its exit, from outside --------------------------------

# -- /proc, read from outside ------------------------------------------------------------------

def _fds(pid: int) -> dict[int, str]:
    try:
        return osinspect.fd_targets(pid)
    except ProcessLookupError:
        return {}


def _mode(pid: int, fd: int) -> str:
    """'read' or 'write' (end of a pipe), from the open flags in /proc/PID/fdinfo/FD."""
    try:
        with open(f"/proc/{pid}/fdinfo/{fd}") as f:
            for line in f:
                if line.startswith("flags:"):
                    return {0: "read", 1: "write"}.get(int(line.split()[1], 8) & 3, "read-write")
    except (OSError, ValueError, IndexError):
        pass
    return "unknown"


def _look(pid: int) -> dict | None:
    """pid, ppid, state, exe, argv and fds of a process, or None when it is gone."""
    try:
        fields = osinspect.stat_fields(pid)
        seen = {"pid": pid, "state": fields[0], "ppid": int(fields[1])}
        seen["cmdline"] = osinspect.cmdline(pid)
        seen["exe"] = osinspect.exe(pid)
    except (ProcessLookupError, PermissionError, OSError):
        return None
    seen["fds"] = {fd: (target, _mode(pid, fd)) for fd, target in _fds(pid).items()}
    return seen


def _live_children(pid: int) -> list[int]:
    found = []
    for child in osinspect.children(pid):
        try:
            if osinspect.state(child) != "Z":
                found.append(child)
        except ProcessLookupError:
            pass
    return found


def _fate(pid: int, caller: int) -> str:
    """What became of a child of the caller: 'reaped', 'zombie' or 'running'."""
    try:
        fields = osinspect.stat_fields(pid)
    except ProcessLookupError:
        return "reaped"
    if int(fields[1]) != caller:
        return "reaped"            # gone, and the pid was used again by someone else's process
    return "zombie" if fields[0] == "Z" else "running"


def _wchan(pid: int) -> str:
    threads = osinspect.threads(pid)
    return threads[0][1] if threads else ""


def _holds_write_end(pid: int, links: list[tuple]) -> bool:
    pipes = {link[3] for link in links}
    return any(target in pipes and _mode(pid, fd) == "write" for fd, target in _fds(pid).items())


def _caller_waits(caller: int, child: int, links: list[tuple]) -> str | None:
    """Why the child held at its exit may go now: the caller sleeps in a wait call ('wait'), or it
    sleeps and cannot go on before the child's files close: end-of-file on the report pipe ('eof')."""
    threads = osinspect.threads(caller)
    if not threads:
        return "gone"
    if any(state == "S" and wchan in ("do_wait", "wait") for state, wchan in threads):
        return "wait"
    if all(state == "S" for state, _ in threads) and _holds_write_end(child, links):
        return "eof"
    return None


def _shown(cmdline: list[str]) -> str:
    text = " ".join(os.path.basename(a) if a.startswith("/") and len(a) > 40 else a for a in cmdline)
    return (text[:90] + "...") if len(text) > 90 else text


# -- one call, watched from outside --------------------------------------------------------------

def _returned(run, seen: dict, timeout: float = POLL) -> bool:
    """Has report_ids returned (the scenario's `returned` event)? Waits at most TIMEOUT for it (a pause
    of TIMEOUT when it has returned already, so that a loop around this never spins)."""
    if "value" in seen:
        time.sleep(timeout)
        return True
    try:
        seen["value"] = run.event("returned", timeout=timeout, awaiting="")["value"]
    except Timeout:
        return False
    return True


def _watch_call(run, gates: dict, index: int, pieces: list[bytes]) -> dict:
    go, gate, finish = gates["go"], gates["gate"], gates["finish"]
    seen: dict = {"index": index, "pieces": pieces, "gate_target": gate.target}
    hold = None
    try:
        event = run.event("calling", awaiting=f"the scenario to call {CALL}")
        caller = seen["caller"] = run.pid
        seen["gate_fd"] = event["gate_fd"]
        # The caller's other children, as /proc shows them now (named by the scenario).
        named = {pid: kind for kind, pid in (event.get("others") or {}).items()}
        seen["others"] = {pid: (named.get(pid, "child"), _fate(pid, caller)) for pid in osinspect.children(caller)}
        ours = {go.target, finish.target}
        me = _look(caller) or {}
        seen["caller_exe"], seen["caller_cmdline"] = me.get("exe"), me.get("cmdline")
        seen["caller_ppid"] = me.get("ppid")
        seen["before"] = {fd: t for fd, t in _fds(caller).items() if t not in ours}
        go.release()

        # The child: it must be waiting at the gate, which the test still holds.
        deadline = time.monotonic() + FIND_DEADLINE
        kids: list[int] = []
        while True:
            kids = [pid for pid in _live_children(caller) if pid not in seen["others"]]
            if kids:
                break
            if _returned(run, seen):
                seen["early"] = seen["value"]
                break
            if time.monotonic() >= deadline:
                break
        seen["children"] = [look for look in map(_look, kids) if look]
        caller_now = _look(caller) or {"fds": {}}
        seen["links"] = _links(seen["children"], caller_now, set(seen["before"].values()))
        if "early" in seen:
            return _after(run, seen, finish, caller)
        if seen["children"]:
            hold = holding.ExitHold(seen["children"][0]["pid"])

        # Let the child through: the token in two pieces, the second once the first was read.
        deadline = time.monotonic() + PIECE_DEADLINE
        written = gate.write(pieces[0], deadline)
        while gate.unread() and time.monotonic() < deadline:
            time.sleep(POLL)
        seen["first_piece_unread"] = not written or gate.unread() > 0
        if written:
            gate.write(pieces[1], time.monotonic() + PIECE_DEADLINE)
        gate.release()

        # The child's exit: held there until the caller waits for it (or returns, or cannot go on).
        deadline = time.monotonic() + CALL_DEADLINE
        while hold is not None and not hold.poll() and hold.attached and time.monotonic() < deadline:
            _returned(run, seen)
        if hold is not None and hold.held:
            seen["exit_status"] = hold.status
            until = time.monotonic() + HOLD_DEADLINE
            while "value" not in seen:
                seen["let_go"] = _caller_waits(caller, hold.pid, seen["links"])
                if seen["let_go"] or time.monotonic() >= until or _returned(run, seen):
                    break
            if "value" in seen:
                seen["returned_while_held"] = hold.pid   # returned, and its child had not ended yet
        if hold is not None:
            hold.release()
        if "value" not in seen and not _returned(run, seen, timeout=max(deadline - time.monotonic(), POLL)):
            seen["failed"] = Timeout(
                f"timed out after {CALL_DEADLINE:.1f} s waiting for {CALL} to return once the grader had closed "
                "the gate (the child then reads end-of-file, reports and ends)" + _why_stuck(seen, caller))
            return seen
        return _after(run, seen, finish, caller)
    except Outcome as exc:       # NotImplementedError (todo), an exception from report_ids, a dead sandbox
        seen["failed"] = exc
        return seen
    finally:
        if hold is not None:
            hold.release()
        for g in (go, gate, finish):
            g.release()


def _after(run, seen: dict, finish: holding.Gate, caller: int) -> dict:
    """report_ids has returned; the scenario waits at `finish`: what did the call leave behind?"""
    value = seen.get("value")
    reported = value.get("child_pid") if isinstance(value, dict) else None
    pids = {c["pid"] for c in seen["children"]} | ({reported} if type(reported) is int and reported > 0 else set())
    pids -= set(seen["others"])
    seen["fates"] = {pid: _fate(pid, caller) for pid in sorted(pids)}
    seen["others_after"] = {pid: _fate(pid, caller) for pid in seen["others"]}
    seen["leftover_children"] = [(pid, _fate(pid, caller)) for pid in osinspect.children(caller)
                                 if pid not in pids and pid not in seen["others"]]
    seen["after"] = {fd: t for fd, t in _fds(caller).items() if t != finish.target}
    finish.release()
    return seen


def _links(children: list[dict], caller: dict, before: set) -> list[tuple]:
    """(child pid, child fd, caller fd, pipe) for every new pipe the child holds open for writing and
    the caller holds open for reading."""
    links = []
    for child in children:
        for fd, (target, mode) in child["fds"].items():
            if not target.startswith("pipe:") or target in before or mode != "write":
                continue
            for cfd, (ctarget, cmode) in caller["fds"].items():
                if ctarget == target and cmode == "read":
                    links.append((child["pid"], fd, cfd, target))
    return links


def _why_stuck(seen: dict, caller: int) -> str:
    """After a timeout: what /proc shows of the child and the caller, so the student knows where to look."""
    parts = []
    for child in seen.get("children", []):
        pid = child["pid"]
        fate = _fate(pid, caller)
        if fate == "running" and "pipe_write" in _wchan(pid) and osinspect.in_wait(caller):
            size = len(b"".join(seen["pieces"]))
            parts.append(
                f"; its child (pid {pid}) is asleep writing its report into the pipe, which is full (a pipe holds "
                f"{PIPE_HOLDS >> 10} KiB, and this report carries a token of {size} bytes), while the parent (pid "
                f"{caller}) is asleep in a wait call, waiting for that child to end: each waits for the other, for "
                "ever. The parent must read the report until end-of-file first (that empties the pipe as the child "
                "fills it), and only then wait for the child")
        elif fate == "running":
            parts.append(f"; its child (pid {pid}) is still running: after the gate it must report and end "
                         "with os._exit(0); a child that returns from report_ids runs on into the parent's code (and "
                         "may wait there for itself)")
        elif fate == "zombie":
            parts.append(f"; its child (pid {pid}) has exited (a zombie now), so the parent is stuck: "
                         "reading the pipe until end-of-file never ends while the parent still holds its own copy "
                         "of the write end; close it right after the fork")
    return "".join(parts)


def _observe(exercise) -> dict:
    key = exercise.student_file
    if key in _SEEN:
        return _SEEN[key]
    result: dict = {"calls": [], "end": None}
    pieces = [_pieces(big=index == CALLS - 1) for index in range(CALLS)]
    # Every FIFO exists before the launch: the scenario opens them as it goes.
    gates = [{name: holding.Gate(exercise.tmp, f"{name}-{i}") for name in ("go", "gate", "finish")}
             for i in range(CALLS)]
    try:
        paths = [{name: g.path for name, g in call.items()} for call in gates]
        with exercise.start("calls", calls=paths, timeout=CALL_DEADLINE) as run:
            for index in range(CALLS):
                seen = _watch_call(run, gates[index], index, pieces[index])
                result["calls"].append(seen)
                if "failed" in seen:
                    break
            else:
                try:
                    run.result(awaiting="the scenario to finish after the last call of report_ids")
                except Failure as exc:     # e.g. a process the code started still ran
                    result["end"] = exc
        result["ran_on"] = _ran_on(exercise.tmp)
    except Outcome as exc:                 # the sandbox did not start
        result["fatal"] = exc
    finally:
        for call in gates:
            for g in call.values():
                g.release()
    _SEEN[key] = result
    return result


def _ran_on(tmp: str) -> list[str]:
    try:
        with open(os.path.join(tmp, "ran-on")) as f:
            return [line.strip() for line in f if line.strip()]
    except OSError:
        return []


# -- what the tests read ------------------------------------------------------------------------

def _calls(exercise, need: str) -> list[dict]:
    """The calls that reached `need` ('gate': the child was looked at; 'value': report_ids returned).
    A call that failed before that raises its failure (todo, exception, timeout)."""
    result = _observe(exercise)
    if "fatal" in result:
        raise result["fatal"]
    done = []
    for seen in result["calls"]:
        if "failed" in seen and (need == "value" or "children" not in seen):
            raise seen["failed"]
        done.append(seen)
    return done


def _early(seen: dict) -> str:
    return (f"{CALL} returned {_show_value(seen['early'])} while the grader still held the gate closed (it had "
            "written nothing into it yet): the child must first read `gate` until end-of-file (os.read returns b''), "
            "and only then report and end; the caller holds the child there")


def _show_value(value) -> str:
    if isinstance(value, dict) and "__repr__" in value and "__type__" in value:
        return f"{value['__repr__']} ({value['__type__']})"
    return repr(value)[:200]


def _listed(children: list[dict]) -> str:
    return ", ".join(f"pid {c['pid']} `{_shown(c['cmdline'])}`" for c in children[:4])


def _child_of(seen: dict) -> dict:
    kids = seen["children"]
    if not kids and "early" in seen:
        raise AssertionError(_early(seen))
    if not kids:
        raise AssertionError(
            f"{FIND_DEADLINE:.0f} s after the call of {CALL}, the calling process (pid {seen['caller']}) had no child "
            "process (in /proc, no process had it as its ppid): report_ids must fork a child with os.fork(), and "
            "that child must wait at `gate` (read it until end-of-file) before it reports and ends")
    return kids[0]


# -- the tests, in the order a student meets the failures ----------------------------------------

def test_report_ids_forks_one_child_a_copy_of_the_caller(exercise):
    for seen in _calls(exercise, "gate"):
        child = _child_of(seen)
        caller = seen["caller"]
        assert len(seen["children"]) == 1, (
            f"while its child waited at the gate, the process that called {CALL} (pid {caller}) had "
            f"{len(seen['children'])} children running: {_listed(seen['children'])}: fork exactly one child")
        same = child["exe"] == seen["caller_exe"] and child["cmdline"] == seen["caller_cmdline"]
        assert same, (
            f"the child of {CALL} (pid {child['pid']}) runs another program: /proc/{child['pid']}/exe is "
            f"{child['exe']} and its argv `{_shown(child['cmdline'])}`, while the caller (pid {caller}) runs "
            f"{seen['caller_exe']} with `{_shown(seen['caller_cmdline'] or [])}`: report_ids must fork a copy "
            "of the caller with os.fork() (same program, same memory, same argv), not start a new program "
            "(subprocess, os.posix_spawn, os.exec*)")


def test_the_child_reports_its_own_pid_and_its_parents_pid_as_proc_shows_them(exercise):
    pids = []
    for seen in _calls(exercise, "value"):
        value, caller = seen["value"], seen["caller"]
        keys = {"child_pid", "child_ppid", "parent_pid", "token"}
        assert isinstance(value, dict) and "__repr__" not in value, (
            f"{CALL} returned {_show_value(value)}, expected a dict with the keys {sorted(keys)}")
        assert set(value) == keys, (
            f"{CALL} returned a dict with the keys {sorted(value)}, expected exactly {sorted(keys)}")
        for name in ("child_pid", "child_ppid", "parent_pid"):
            assert type(value[name]) is int, (
                f"{CALL} returned {name} = {_show_value(value[name])}, expected an int (a pid)")
        child = _child_of(seen)
        pid, ppid = child["pid"], child["ppid"]
        got = value["child_pid"]
        why = {caller: ("that is the parent's pid: in the child os.getpid() gives the child's own pid; a value "
                        "computed before the fork (or in the parent) is the parent's, since the child's memory "
                        "starts as a copy of the parent's (写时复制 copy-on-write)"),
               0: "0 is what os.fork() returns in the child, not its pid: ask os.getpid() in the child",
               seen["caller_ppid"]: "that is the caller's own parent"}.get(got, "the child must report os.getpid()")
        assert got == pid, (
            f"{CALL} returned child_pid {got}, but the grader saw the child in /proc as pid {pid} (its ppid "
            f"{ppid}): {why}")
        got = value["child_ppid"]
        why = {seen["caller_ppid"]: ("that is the caller's own parent: os.getppid() was called in the parent; "
                                     "call it in the child, which gets the caller as its parent"),
               pid: "that is the child's own pid: os.getppid() gives the parent's pid",
               }.get(got, "ask os.getppid() in the child")
        assert got == ppid, (
            f"{CALL} returned child_ppid {got}, but /proc/{pid}/stat showed the child's ppid as {ppid} (the "
            f"process that called report_ids): {why}")
        got = value["parent_pid"]
        assert got == caller, (
            f"{CALL} returned parent_pid {got}, but it was called by pid {caller}: parent_pid is os.getpid() "
            "of the caller (the parent), "
            + ("not its own parent (os.getppid())" if got == seen["caller_ppid"] else "after the fork, in the parent"))
        pids.append(pid)
    assert len(set(pids)) == len(pids), (
        f"{CALL} was called {len(pids)} times and reported the same child pid each time ({pids[0]}): every call "
        "forks a new child, which gets a pid of its own")


def _token_differs(token: bytes, want: bytes, pieces: list[bytes]) -> str:
    """What went wrong between the bytes written into the gate and the token returned, in OS terms."""
    if token == pieces[0] and len(pieces[0]) <= PIPE_HOLDS:
        return (f"that is only the first piece: the grader wrote {_bytes_shown(want)} into the gate in two pieces "
                f"({_bytes_shown(pieces[0])}, then {_bytes_shown(pieces[1])} once the child had read the first) "
                "before closing it: one os.read returns what is in the pipe now; keep reading until it returns b'' "
                "(end-of-file: the writer has closed)")
    if token == want.strip() or token in (want.lstrip(), want.rstrip()):
        return ("the blanks at its ends (spaces, tabs, newlines) were stripped: they are bytes of the token like any "
                "other; keep every byte the child read, strip nothing")
    if "\ufffd".encode() in token and "\ufffd".encode() not in want:
        return ("bytes that are not valid UTF-8 came back as U+FFFD (EF BF BD): the token was decoded as text on its "
                "way. A token is bytes, and any byte value may be in it: send it as bytes (raw with its length, "
                "or as hex or base64 text, or pickled), never through str")
    if want.startswith(token) and want[len(token):len(token) + 1] in (b"\n", b"\r"):
        kept = f"only its first {len(token)} bytes came back" if token else "nothing of it came back"
        return (f"{kept}, cut at a newline: a report made of lines cannot "
                "carry a token that holds newlines (any byte may be in it, NUL and newlines included); use a "
                "format that does not depend on its content, e.g. hex, or raw bytes with their length")
    if token and want.startswith(token):
        if len(token) <= PIPE_HOLDS < len(want):
            return (f"only its first {len(token)} of {len(want)} bytes came back: a pipe holds {PIPE_HOLDS >> 10} KiB, "
                    "and one os.read returns at most what is in it at that moment. The child must read `gate` until "
                    "end-of-file, and the parent must read the report until end-of-file (os.read returns b''), "
                    "in a loop, both")
        return (f"only its first {len(token)} of {len(want)} bytes came back: read until end-of-file (os.read returns "
                "b''), in a loop, and keep every piece")
    return ("the child must read `gate` until end-of-file, keep every byte in order, and report the token only "
            "after that" + (" (it reported before reading anything)" if not token else ""))


def test_the_child_reads_the_gate_to_end_of_file_before_it_reports(exercise):
    for seen in _calls(exercise, "value"):
        if "early" in seen:
            raise AssertionError(_early(seen))
        value = seen["value"]
        token = value.get("token") if isinstance(value, dict) else None
        want = b"".join(seen["pieces"])
        assert not seen.get("first_piece_unread") or token == want, (
            f"the grader wrote {_bytes_shown(seen['pieces'][0])} into the gate while the child of {CALL} was waiting "
            f"there, and nobody read it all within {PIECE_DEADLINE:.0f} s: the child must read `gate` (the fd it "
            "inherited across the fork) until end-of-file before it reports")
        assert type(token) is bytes, (
            f"{CALL} returned token = {_show_value(token)}, expected the bytes the child read from `gate` "
            f"(here {_bytes_shown(want)})")
        assert token == want, (
            f"{CALL} returned token {_bytes_shown(token)}, but the grader wrote {_bytes_shown(want)} into the gate "
            f"(in two pieces) and then closed it: {_token_differs(token, want, seen['pieces'])}")


def test_the_report_travels_through_a_pipe_from_child_to_parent(exercise):
    for seen in _calls(exercise, "gate"):
        child = _child_of(seen)
        held = ", ".join(f"{fd} -> {target} ({mode})" for fd, (target, mode) in sorted(child["fds"].items())
                         if target not in seen["before"].values() or fd > 2) or "nothing new"
        assert seen["links"], (
            f"while the child of {CALL} (pid {child['pid']}) waited at the gate, no pipe joined it to its parent "
            f"(pid {seen['caller']}): the child held {held}, and the parent held the read end of none of them. "
            "Make the pipe with os.pipe() before os.fork(): the child inherits both ends, keeps the write end "
            "and sends its report there; the parent keeps the read end")


def _status_shown(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"was killed by signal {os.WTERMSIG(status)}" + (" (core dumped)" if os.WCOREDUMP(status) else "")
    return f"ended with exit status {os.WEXITSTATUS(status)}"


def test_the_child_ends_with_os_exit_and_never_returns_into_the_callers_code(exercise):
    _calls(exercise, "gate")
    ran_on = _observe(exercise).get("ran_on", [])
    assert not ran_on, (
        f"a child forked by {CALL} came back into the caller's code: {ran_on[0]}. After the fork, the caller's "
        "code would then run twice, once in each process. End the child with os._exit(0) (in a finally: "
        "whatever happens): not return, not sys.exit() (it raises SystemExit, which unwinds through the "
        "caller's code)")
    for seen in _calls(exercise, "gate"):
        status = seen.get("exit_status")
        if status:
            pid = seen["children"][0]["pid"]
            raise AssertionError(
                f"the child of {CALL} (pid {pid}) {_status_shown(status)} (the grader saw its exit from outside, "
                "with ptrace): once it has sent its report, the child ends with os._exit(0). Its exit status is "
                "what its parent's waitpid collects: 0 says it did its job; anything else says it failed")
    _calls(exercise, "value")   # a call that never returned (a child stuck in the caller's code) fails here


def test_the_child_is_reaped_before_report_ids_returns(exercise):
    for seen in _calls(exercise, "value"):
        for pid, (kind, before) in seen["others"].items():
            after = seen["others_after"].get(pid)
            assert not (before in ("zombie", "running") and after == "reaped"), (
                f"{CALL} reaped pid {pid}, a child the caller had forked before the call ({kind}: "
                f"{'it had already exited, a zombie' if before == 'zombie' else 'it was still running'}), which "
                "report_ids did not fork and must leave alone: os.wait() (or os.waitpid(-1, ...)) collects "
                "whichever child of the caller has ended. Wait for your own child, by its pid: "
                "os.waitpid(pid, 0)")
        held = seen.get("returned_while_held")
        assert held is None, (
            f"{CALL} returned while its child (pid {held}) had not yet ended: the grader held the child at the very "
            "start of its exit (it had sent its report; it was not a zombie yet) until its parent would wait for "
            "it, and the parent returned without waiting for it to end. That leaves a zombie. Wait with "
            "os.waitpid(pid, 0), which sleeps until the child has ended, then collects it (os.waitpid(pid, "
            "os.WNOHANG) returns at once, with (0, 0), when the child has not ended yet, and collects nothing)")
        for pid, fate in seen["fates"].items():
            assert fate != "zombie", (
                f"when {CALL} returned, its child (pid {pid}) was a zombie (state Z in /proc/{pid}/stat, ppid "
                f"{seen['caller']}): it had exited but nobody had collected its exit status. Reap it in the parent "
                "with os.waitpid(pid, 0) before returning")
            assert fate != "running", (
                f"when {CALL} returned, its child (pid {pid}) was still running: the parent must wait for it "
                "with os.waitpid(pid, 0) (which returns once the child has ended) before returning")
        left = seen["leftover_children"]
        assert not left, (
            f"when {CALL} returned, the caller still had {len(left)} other child(ren) (pid {left[0][0]}, state "
            f"{left[0][1]}): fork exactly one child, and reap it before returning")


def test_report_ids_closes_its_pipe_and_leaves_gate_open(exercise):
    for seen in _calls(exercise, "value"):
        before, after = seen["before"], seen["after"]
        new = {fd: t for fd, t in after.items() if before.get(fd) != t}
        pipes = {link[3] for link in seen["links"]}
        for fd, target in sorted(new.items()):
            what = " (the pipe the child reported through)" if target in pipes else ""
            raise AssertionError(
                f"after {CALL} returned, the caller still had fd {fd} open -> {target}{what}, which it did not have "
                "before the call: close both ends of the pipe in the parent (the write end right after the fork, "
                "the read end once the report is read); an fd left open is lost for good in a long-running program")
        gate_fd = seen["gate_fd"]
        assert after.get(gate_fd) == seen["gate_target"], (
            f"after {CALL} returned, the caller's fd {gate_fd} (`gate`, which the caller passed in) was "
            f"{'closed' if gate_fd not in after else 'pointing at ' + after[gate_fd]}: report_ids must leave "
            "`gate` open in the parent; it belongs to the caller (only the child reads it)")
    end = _observe(exercise)["end"]
    if end is not None:
        raise end
