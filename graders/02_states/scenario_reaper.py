"""Scenarios for the reaper exercise: they run beside the student's install_reaper().

Each scenario installs the student's reaper in the sandboxed interpreter and makes children
that report ready on a pipe and then block on a "gate" pipe until the scenario closes its
write end. The schedule is forced, never left to timing:

* SIGCHLD is blocked in the (only) thread while children exit, so no handler runs yet;
* the scenario waits until the kernel shows each child as exited (waitid with WNOWAIT,
  which does not reap) and so has made SIGCHLD pending;
* then it unblocks SIGCHLD: Python runs the student's handler exactly once, for all of
  them, before pthread_sigmask returns; what /proc and the dict show right after is what
  that one run of the handler did.

A handler that may block (other children still running) runs under a watch: a helper
thread that finds the main thread asleep in a wait call (wchan do_wait) or burning CPU in
the handler lets the children go, so the handler can come back, and notes what it saw.

Scenarios return plain data; the test side turns it into sentences. The one thing decided
here is an exception escaping from the student's handler into the program (it can only be
caught here, where the handler runs).
"""

import contextlib
import os
import resource
import select
import shutil
import signal
import subprocess
import threading
import time
import traceback

from graders.harness.scenario import Fail

SIGCHLD_BIT = 1 << (signal.SIGCHLD - 1)
CLK_TCK = os.sysconf("SC_CLK_TCK")
WAIT_CHANNELS = ("do_wait", "kernel_wait4", "kernel_waitid", "do_waitid")
STUCK_ASLEEP = 5  # consecutive samples (2 ms apart) of the main thread asleep in a wait call
STUCK_CPU = 0.3  # s of CPU the main thread may burn in one run of the handler (a right one needs < 1 ms)
STUCK_WALL = 3.0  # s, whatever happens

_MADE: list = []  # every child made by this scenario process, in order
_EARLIER: set = set()  # children of earlier parts of a folded scenario: not this part's business


# ---------------------------------------------------------------- /proc helpers


def _stat_fields(pid, task=None):
    path = f"/proc/{pid}/task/{task}/stat" if task else f"/proc/{pid}/stat"
    try:
        with open(path, "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return data[data.rindex(b")") + 2 :].split()


def _stat(pid, task=None):
    """(state letter, ppid) from /proc/PID/stat (or a thread's), None if gone."""
    fields = _stat_fields(pid, task)
    return (fields[0].decode(), int(fields[1])) if fields else None


def _cpu(task):
    """CPU seconds (user + system) the thread has used."""
    fields = _stat_fields(os.getpid(), task)
    return (int(fields[11]) + int(fields[12])) / CLK_TCK if fields else 0.0


def _wchan(task):
    with contextlib.suppress(OSError):
        with open(f"/proc/self/task/{task}/wchan") as f:
            return f.read().strip()
    return ""


def _child_state(pid):
    """'zombie', 'alive' or 'gone' (reaped) for a child we made."""
    st = _stat(pid)
    if st is None or st[1] != os.getpid():
        return "gone"  # reaped (a reused pid would have another parent)
    return "zombie" if st[0] == "Z" else "alive"


def _letter(pid):
    st = _stat(pid)
    return st[0] if st and st[1] == os.getpid() else "gone"


def _self_status(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return line.split(":", 1)[1].strip()
    return ""


def _threads():
    return threading.active_count(), len(os.listdir("/proc/self/task"))


def _plain(x):
    """Something JSON can carry and the test can show."""
    return x if type(x) is int else repr(x)


def _items(reaped):
    """The dict's real content (dict's own methods: a subclass cannot dress it up)."""
    return list(dict.items(reaped))


def _get(reaped, pid):
    return _plain(dict.__getitem__(reaped, pid)) if dict.__contains__(reaped, pid) else None


# ------------------------------------------------------------- the schedule


def _block():
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})


def _unblock():
    """Unblock SIGCHLD: a pending one is delivered at once, and pthread_sigmask runs the Python
    handler before it returns."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})


def _await_pending(timeout=2.0):
    """With SIGCHLD blocked, wait until the kernel has made it pending (a stop or continue
    notification is sent a moment after the child changed state)."""
    deadline = time.monotonic() + timeout
    while signal.SIGCHLD not in signal.sigpending():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.001)
    return True


def _await_exit(pid, timeout=3.0):
    """With SIGCHLD blocked, wait until child PID has exited, without reaping it: its siginfo
    (si_code CLD_EXITED / CLD_KILLED / CLD_DUMPED), or None if it is already gone. When waitid
    sees the zombie, its SIGCHLD is already pending (the kernel does both under one lock)."""
    deadline = time.monotonic() + timeout
    fd = None
    with contextlib.suppress(OSError, AttributeError):
        fd = os.pidfd_open(pid)  # readable once the child has exited
    try:
        while True:
            try:
                info = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT | os.WNOHANG)
            except ChildProcessError:
                return None
            if info is not None:
                return info
            left = deadline - time.monotonic()
            if left <= 0:
                raise Fail(
                    f"the grader's child (pid {pid}) was told to exit but was still running "
                    f"{timeout} s later (state {_letter(pid)}): did install_reaper() or your handler stop or hold it?"
                )
            if fd is not None:
                select.select([fd], [], [], min(left, 0.05))
            else:
                time.sleep(0.001)
    finally:
        if fd is not None:
            os.close(fd)


def _watched(run, release):
    """Run the student's handler (RUN unblocks or raises SIGCHLD) under watch. A helper thread
    (started while SIGCHLD is blocked, so it inherits the mask and never takes the signal)
    samples the main thread; if it sleeps in a wait call, burns CPU or stays away too long,
    the helper calls RELEASE (lets the children the handler may wait for exit) and notes
    what it saw, so the handler can come back and the test can say what happened."""
    info = {"stuck": False}
    done = threading.Event()
    main_tid = threading.get_native_id()

    def watch():
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
        t0 = time.monotonic()
        cpu0 = _cpu(main_tid)
        asleep = 0
        while not done.wait(0.002):
            st = _stat(os.getpid(), main_tid)
            wchan = _wchan(main_tid)
            asleep = asleep + 1 if st and st[0] in "SD" and wchan in WAIT_CHANNELS else 0
            cpu = _cpu(main_tid) - cpu0
            waited = time.monotonic() - t0
            if asleep >= STUCK_ASLEEP or cpu >= STUCK_CPU or waited >= STUCK_WALL:
                info.update(
                    stuck=True,
                    asleep_in_wait=asleep >= STUCK_ASLEEP,
                    state=st[0] if st else "?",
                    wchan=wchan,
                    cpu=round(cpu, 3),
                    after=round(waited, 3),
                )
                release()
                return

    helper = threading.Thread(target=watch, daemon=True)
    helper.start()
    try:
        run()
    finally:
        done.set()
        helper.join(STUCK_WALL)
    return info


class _Gates:
    """Write ends of gate pipes, closed once (by the scenario or by a watch's release)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.open = set()

    def pipe(self):
        r, w = os.pipe()
        self.open.add(w)
        return r, w

    def close(self, w):
        with self.lock:
            if w in self.open:
                self.open.discard(w)
                os.close(w)

    def close_all(self):
        for w in list(self.open):
            self.close(w)


# ----------------------------------------------------------------- children


def _spawn(action, ready_w, gate_r, close_in_child, *, core=False, setsid=False):
    """Fork a child that writes one byte to ready_w, blocks until gate_r gives EOF, then
    exits with status `action` (>= 0) or kills itself with signal -action (< 0), after
    raising its core-file limit when `core` (so that it dumps core)."""
    try:
        pid = os.fork()
    except OSError as exc:
        raise Fail(
            f"the grader could not fork a child ({exc}): too many processes are "
            "running on this machine, or the process budget is too small"
        ) from None
    if pid:
        _MADE.append(pid)
        return pid
    code = 120
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in close_in_child:
            os.close(fd)
        if setsid:
            os.setsid()
        os.write(ready_w, b".")
        while os.read(gate_r, 64):
            pass
        if action >= 0:
            code = action
        else:
            sig = signal.Signals(-action)
            if core:
                hard = resource.getrlimit(resource.RLIMIT_CORE)[1]
                resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))
            if sig != signal.SIGKILL:
                signal.signal(sig, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {sig})
            os.kill(os.getpid(), sig)
            code = 121
    finally:
        os._exit(code)


def _await_ready(ready_r, n, timeout=3.0):
    got = 0
    deadline = time.monotonic() + timeout
    while got < n:
        left = deadline - time.monotonic()
        ready = select.select([ready_r], [], [], max(left, 0))[0] if left > 0 else []
        if not ready:
            raise Fail(f"only {got} of the grader's {n} children started within {timeout} s")
        chunk = os.read(ready_r, n - got)
        if not chunk:
            raise Fail(f"the grader's children closed their ready pipe after {got} of {n}")
        got += len(chunk)


def _observe(reaped, expected):
    """What the test needs: expected codes, the dict's content, /proc states."""
    return {
        "children": [[pid, code] for pid, code in expected.items()],
        "recorded": [[_plain(k), _plain(v)] for k, v in _items(reaped) if k not in _EARLIER],
        "states": [[pid, _child_state(pid)] for pid in expected],
        "disposition": repr(signal.getsignal(signal.SIGCHLD)),
    }


def _cleanup(pids):
    """Take the student's handler out of the way and clear what is left."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})
    for pid in pids:
        if _child_state(pid) != "gone":
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGCONT)
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)


# ---------------------------------------------------- escapes from the handler


def _student_line(exc, student):
    path = os.path.realpath(student.__file__)
    for fs in reversed(traceback.extract_tb(exc.__traceback__)):
        if os.path.realpath(fs.filename) == path:
            return f"{os.path.basename(path)} line {fs.lineno}: `{(fs.line or '').strip()}`"
    return None


def _not_callable_as_handler():
    """Why Python cannot call the installed SIGCHLD handler as handler(signum, frame), or None."""
    import inspect

    handler = signal.getsignal(signal.SIGCHLD)
    if not callable(handler):
        return None
    try:
        inspect.signature(handler).bind(signal.SIGCHLD, None)
    except TypeError as exc:
        return str(exc)
    except ValueError:
        return None
    return None


def _escape_sentence(exc, student, doing):
    name = type(exc).__name__
    text = f"{name}({exc})" if str(exc) else name
    where = _student_line(exc, student)
    if where is None:
        arity = _not_callable_as_handler() if isinstance(exc, TypeError) else None
        if arity is None:
            return None
        return (
            f"{text} was raised when Python called your SIGCHLD handler (at that moment: {doing}): Python calls a "
            f"signal handler with two arguments, handler(signum, frame) (the signal number and the "
            f"frame it interrupted), and yours does not accept them ({arity}); define it as "
            f"def handler(signum, frame)"
        )
    if isinstance(exc, ChildProcessError):
        why = (
            "os.waitpid(-1, ...) raises ChildProcessError (ECHILD) when this process has no "
            "children left, which is what happens after the last one is reaped, or when SIGCHLD "
            "arrives with no child at all: catch it in the handler and return."
        )
    elif isinstance(exc, ValueError) and "stopped" in str(exc):
        why = (
            "waitpid with os.WUNTRACED (or os.WCONTINUED) also reports children that were stopped "
            "(or continued) and have not exited, and os.waitstatus_to_exitcode raises ValueError for "
            "them: wait with os.WNOHANG only, which reports exited children alone."
        )
    else:
        why = "a SIGCHLD handler must never raise."
    return (
        f"{text} was raised at {where} and escaped from your SIGCHLD handler into the program (at that "
        f"moment: {doing}): an exception raised in a signal handler is raised again in whatever the main "
        f"thread was running, here the grader's code; {why}"
    )


class _Guard:
    """Turns an exception escaping from the student's handler into a Fail."""

    def __init__(self, student):
        self.student = student
        self.doing = "installing the reaper"

    @contextlib.contextmanager
    def watch(self):
        try:
            yield
        except Fail:
            raise
        except BaseException as exc:
            sentence = _escape_sentence(exc, self.student, self.doing)
            if sentence is None:
                raise
            raise Fail(sentence) from None


def _install(student):
    reaped = student.install_reaper()
    if not isinstance(reaped, dict):
        raise Fail(
            f"install_reaper() returned {reaped!r} ({type(reaped).__name__}), "
            "expected the dict that the SIGCHLD handler fills"
        )
    return reaped


def _one_child(reaped, guard, action, doing, **how):
    """Fork one child, let it exit with SIGCHLD blocked, then run the handler once.
    Returns (pid, siginfo seen by the grader before the handler ran)."""
    ready_r, ready_w = os.pipe()
    gate_r, gate_w = os.pipe()
    guard.doing = "forking a child"
    pid = _spawn(action, ready_w, gate_r, [ready_r, gate_w], **how)
    os.close(ready_w)
    os.close(gate_r)
    try:
        _await_ready(ready_r, 1)
    finally:
        os.close(ready_r)
    guard.doing = doing(pid)
    os.close(gate_w)
    info = _await_exit(pid)
    _unblock()
    return pid, info


# ---------------------------------------------------------------- scenarios


def installed(student, ctx):
    """Install the reaper, look at the disposition of SIGCHLD, count threads, let one child
    exit (a lazily started thread would show then), then call install_reaper() again."""
    before = _threads()
    reaped = student.install_reaper()
    after = _threads()
    handler = signal.getsignal(signal.SIGCHLD)
    is_dict = isinstance(reaped, dict)
    out = {
        "returned": "dict" if is_dict else type(reaped).__name__,
        "returned_repr": repr(dict(_items(reaped)) if is_dict else reaped)[:200],
        "handler": repr(handler),
        "callable": callable(handler),
        "sig_ign": handler == signal.SIG_IGN,
        "sigcgt": bool(int(_self_status("SigCgt"), 16) & SIGCHLD_BIT),
        "sigign": bool(int(_self_status("SigIgn"), 16) & SIGCHLD_BIT),
        "threads_before": list(before),
        "threads_after": list(after),
        "threads_later": list(after),
        "child": None,
        "again": None,
    }
    if not is_dict or not out["callable"] or not out["sigcgt"]:
        return out
    out["arity"] = _not_callable_as_handler()
    guard = _Guard(student)
    pid = None
    try:
        try:
            with guard.watch():
                _block()
                pid, _ = _one_child(reaped, guard, 0, lambda p: f"one child (pid {p}) exited with status 0")
        except Fail as exc:  # an escape from the handler: the other tests report it
            out["escape"] = str(exc)
            _unblock()
        out["threads_later"] = list(_threads())
        out["child"] = [pid, _get(reaped, pid), _child_state(pid)] if pid else None
        with guard.watch():
            guard.doing = "calling install_reaper() a second time"
            again = student.install_reaper()
            out["again"] = {
                "type": type(again).__name__,
                "is_dict": isinstance(again, dict),
                "same": again is reaped,
                "repr": repr(dict(_items(again)) if isinstance(again, dict) else again)[:200],
                "empty": isinstance(again, dict) and not _items(again),
            }
    finally:
        _cleanup([pid] if pid else [])
    return out


CORE_SIGNALS = (signal.SIGQUIT, signal.SIGSEGV, signal.SIGABRT)


def one_at_a_time(student, ctx, plan, cores=CORE_SIGNALS):
    """Children exit one at a time with statuses 0..255 or die by a signal (some dumping
    core); each must be recorded with subprocess's return code by the one run of the handler
    its SIGCHLD causes. Each of them is the last child, so the handler meets "no child left"
    (ECHILD) every time; and SIGCHLD also arrives with no child at all, before and after."""
    reaped = _install(student)
    guard = _Guard(student)
    expected = {}
    dumped = {}
    try:
        with guard.watch():
            guard.doing = "a SIGCHLD arrived while this process had no children at all"
            signal.raise_signal(signal.SIGCHLD)  # runs the Python handler before returning
            steps = [(a, False) for a in plan] + [(-s, True) for s in cores]
            for action, core in steps:
                _block()
                how = f"exited with status {action}" if action >= 0 else f"was killed by {signal.Signals(-action).name}"
                pid, info = _one_child(
                    reaped, guard, action, lambda p, how=how: f"the only child (pid {p}) {how}", core=core
                )
                expected[pid] = action
                if core:
                    dumped[pid] = info is not None and info.si_code == os.CLD_DUMPED
                if not dict.__contains__(reaped, pid):
                    break  # the test reports it; the next children would not tell more
                guard.doing = f"a SIGCHLD arrived after the last child (pid {pid}) had been reaped"
                signal.raise_signal(signal.SIGCHLD)
            out = _observe(reaped, expected)
            out["dumped"] = [[p, d] for p, d in dumped.items()]
            return out
    finally:
        _cleanup(expected)


def burst(student, ctx, plan):
    """50 children exit at the same moment (one gate pipe closed for all) while SIGCHLD is
    blocked: their SIGCHLDs merge into one, and the one run of the handler it causes must
    reap and record every one of them."""
    reaped = _install(student)
    guard = _Guard(student)
    expected = {}
    try:
        with guard.watch():
            _block()
            ready_r, ready_w = os.pipe()
            gate_r, gate_w = os.pipe()
            guard.doing = "forking 50 children"
            for action in plan:
                expected[_spawn(action, ready_w, gate_r, [ready_r, gate_w])] = action
            os.close(ready_w)
            os.close(gate_r)
            _await_ready(ready_r, len(expected))
            os.close(ready_r)
            early = [(k, v) for k, v in _items(reaped) if k not in _EARLIER]
            guard.doing = "50 children exited at the same moment"
            os.close(gate_w)  # every child reads EOF now and exits
            for pid in expected:
                _await_exit(pid)
            pending = signal.SIGCHLD in signal.sigpending()
            _unblock()  # one SIGCHLD for all 50: one run of the handler
            out = _observe(reaped, expected)
            out["early"] = [[_plain(k), _plain(v)] for k, v in early]
            out["pending"] = pending
            return out
    finally:
        _cleanup(expected)


SIBLING_CODE = 77
SHORT_PLAN = [11, 12, 13, 14, 15]


def sibling(student, ctx):
    """A long-running sibling stays alive while 5 other children exit at the same moment: the
    one run of the handler must reap those without waiting for the sibling; a later SIGCHLD
    with nothing to reap (the sibling still running) must not make it wait either; and the
    sibling must not be recorded until it has exited."""
    reaped = _install(student)
    guard = _Guard(student)
    gates = _Gates()
    expected = {}
    out = {}
    try:
        with guard.watch():
            _block()
            ready_r, ready_w = os.pipe()
            s_r, s_w = gates.pipe()
            g_r, g_w = gates.pipe()
            guard.doing = "forking children"
            closing = [ready_r, s_w, g_w]
            sib = _spawn(SIBLING_CODE, ready_w, s_r, closing)
            shorts = [_spawn(c, ready_w, g_r, closing) for c in SHORT_PLAN]
            expected.update(zip(shorts, SHORT_PLAN))
            expected[sib] = SIBLING_CODE
            for fd in (ready_w, s_r, g_r):
                os.close(fd)
            _await_ready(ready_r, len(expected))
            os.close(ready_r)
            out["sibling"] = sib

            guard.doing = "5 children exited at the same moment while a sibling was still running"
            gates.close(g_w)
            for pid in shorts:
                _await_exit(pid)
            out["merged"] = _watched(_unblock, lambda: gates.close(s_w))
            out["shorts_before"] = _observe(reaped, {p: expected[p] for p in shorts})
            out["sibling_state_before"] = _letter(sib)
            out["sibling_recorded_before"] = _get(reaped, sib)

            out["spurious"] = {"stuck": False}
            if not out["merged"]["stuck"]:
                guard.doing = "a SIGCHLD arrived with nothing to reap while a sibling was still running"
                out["spurious"] = _watched(lambda: signal.raise_signal(signal.SIGCHLD), lambda: gates.close(s_w))
                out["sibling_recorded_spurious"] = _get(reaped, sib)

            _block()
            guard.doing = "the long-running sibling exited last"
            gates.close(s_w)
            _await_exit(sib)
            _unblock()
            out.update(_observe(reaped, expected))
            return out
    finally:
        gates.close_all()
        _cleanup(expected)


def stopped(student, ctx, code):
    """A child is stopped by SIGSTOP, then continued by SIGCONT, then exits: the kernel sends
    SIGCHLD each time, but only the exit may be recorded (and reaped)."""
    reaped = _install(student)
    guard = _Guard(student)
    gates = _Gates()
    pid = None
    out = {"code": code}
    try:
        with guard.watch():
            _block()
            ready_r, ready_w = os.pipe()
            gate_r, gate_w = gates.pipe()
            guard.doing = "forking a child"
            pid = _spawn(code, ready_w, gate_r, [ready_r, gate_w])
            os.close(ready_w)
            os.close(gate_r)
            _await_ready(ready_r, 1)
            os.close(ready_r)
            out["pid"] = pid

            def let_go():
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGCONT)
                gates.close(gate_w)

            for step, sig, doing in (
                ("stop", signal.SIGSTOP, f"a child (pid {pid}) was stopped by SIGSTOP (it had not exited)"),
                ("cont", signal.SIGCONT, f"the stopped child (pid {pid}) was continued by SIGCONT (it had not exited)"),
            ):
                _block()
                guard.doing = doing
                os.kill(pid, sig)
                pending = _await_pending()
                seen = _letter(pid)
                info = _watched(_unblock, let_go)
                out[step] = dict(
                    info, pending=pending, child_state_before=seen, child_state=_letter(pid), recorded=_get(reaped, pid)
                )
                if info["stuck"]:
                    break

            _block()
            guard.doing = f"the child (pid {pid}) exited with status {code} after it had been stopped and continued"
            gates.close(gate_w)
            _await_exit(pid)
            _unblock()
            out.update(_observe(reaped, {pid: code}))
            return out
    finally:
        gates.close_all()
        _cleanup([pid] if pid else [])


def _sh():
    return shutil.which("sh") or "/bin/sh"


def spawned(student, ctx, codes):
    """Children made in other ways than os.fork, one at a time: a forked child that called
    setsid() (another session and process group), one made by subprocess.Popen, one by
    os.posix_spawn. Each is a child of this process and must be reaped and recorded."""
    reaped = _install(student)
    guard = _Guard(student)
    kinds = []
    pids = []
    try:
        with guard.watch():
            for kind, code in zip(("setsid", "subprocess", "posix_spawn"), codes):
                _block()
                proc = None
                if kind == "setsid":
                    pid, _ = _one_child(
                        reaped,
                        guard,
                        code,
                        lambda p, c=code: f"a child (pid {p}) that had called os.setsid() exited with status {c}",
                        setsid=True,
                    )
                    pids.append(pid)
                else:
                    guard.doing = f"starting a child with {kind}"
                    argv = [_sh(), "-c", f"exit {code}"]
                    if kind == "subprocess":
                        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL)
                        pid = proc.pid
                    else:
                        pid = os.posix_spawn(argv[0], argv, dict(os.environ), setsigmask=())
                    _MADE.append(pid)
                    pids.append(pid)
                    guard.doing = f"a child (pid {pid}) started by {kind} exited with status {code}"
                    _await_exit(pid)
                    _unblock()
                kinds.append(
                    {
                        "kind": kind,
                        "pid": pid,
                        "code": code,
                        "state": _child_state(pid),
                        "recorded": _get(reaped, pid),
                    }
                )
                if proc is not None:
                    proc.returncode = code  # Popen must never wait for it itself
            out = _observe(reaped, {k["pid"]: k["code"] for k in kinds})
            out["kinds"] = kinds
            return out
    finally:
        _cleanup(pids)


def others(student, ctx, plan, code, codes):
    """burst, sibling, stopped and spawned in one launch (each with an install of its own, and
    children of its own): {part: its result, or {"fail": sentence}}."""
    out = {}
    for name, part, kwargs in (
        ("burst", burst, {"plan": plan}),
        ("sibling", sibling, {}),
        ("stopped", stopped, {"code": code}),
        ("spawned", spawned, {"codes": codes}),
    ):
        _EARLIER.clear()
        _EARLIER.update(_MADE)
        try:
            out[name] = part(student, ctx, **kwargs)
        except Fail as exc:
            out[name] = {"fail": str(exc)}
    return out
