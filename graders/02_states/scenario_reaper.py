"""Scenarios for the reaper exercise: they run beside the student's install_reaper().

Each scenario installs the student's reaper in the sandboxed interpreter, forks
children that report ready on a pipe and then block on a "gate" pipe until the
scenario closes its write end, and observes from /proc what the handler did.
Children reset SIGCHLD to SIG_DFL and always leave with os._exit.

Scenarios return plain data; the test side turns it into sentences. The one
thing decided here is an exception escaping from the student's handler into
the program (it can only be caught here, where the handler runs).
"""

import contextlib
import os
import select
import signal
import threading
import time
import traceback

from graders.harness.scenario import Fail

SIGCHLD_BIT = 1 << (signal.SIGCHLD - 1)


# ---------------------------------------------------------------- /proc helpers


def _stat(pid, task=None):
    """(state letter, ppid) from /proc/PID/stat (or a thread's), None if gone."""
    path = f"/proc/{pid}/task/{task}/stat" if task else f"/proc/{pid}/stat"
    try:
        with open(path, "rb") as f:
            data = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = data[data.rindex(b")") + 2 :].split()
    return fields[0].decode(), int(fields[1])


def _child_state(pid):
    """'zombie', 'alive' or 'gone' (reaped) for a child we forked."""
    st = _stat(pid)
    if st is None or st[1] != os.getpid():
        return "gone"  # reaped (a reused pid would have another parent)
    return "zombie" if st[0] == "Z" else "alive"


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


# ----------------------------------------------------------------- children


def _spawn(action, ready_w, gate_r, close_in_child):
    """Fork a child that writes one byte to ready_w, blocks until gate_r gives
    EOF, then exits with status `action` (>= 0) or kills itself with signal
    -action (< 0)."""
    try:
        pid = os.fork()
    except OSError as exc:
        raise Fail(
            f"the grader could not fork a child ({exc}): too many processes are "
            "running on this machine, or the process budget is too small"
        ) from None
    if pid:
        return pid
    code = 120
    try:
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in close_in_child:
            os.close(fd)
        os.write(ready_w, b".")
        while os.read(gate_r, 64):
            pass
        if action >= 0:
            code = action
        else:
            sig = signal.Signals(-action)
            if sig != signal.SIGKILL:
                signal.signal(sig, signal.SIG_DFL)
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


def _await_reaped(reaped, pids, timeout):
    """Let the handler run (the main thread sleeps in short steps, so a pending
    SIGCHLD handler runs at once) until every pid is in `reaped`.

    Ends early, too, once every child has exited (zombie or reaped) and nothing
    has changed for 20 polls and 0.1 s: every SIGCHLD for them has then been
    delivered and handled, so a zombie left now stays a zombie for good."""
    deadline = time.monotonic() + timeout
    last, same, since = None, 0, 0.0
    while not all(p in reaped for p in pids):
        now = time.monotonic()
        if now >= deadline:
            return
        states = tuple(_child_state(p) for p in pids)
        snap = (states, len(reaped))
        if "alive" not in states and snap == last:
            same += 1
            if same >= 20 and now - since >= 0.1:
                return
        else:
            last, same, since = snap, 0, now
        time.sleep(0.002)


def _observe(reaped, expected):
    """What the test needs: expected codes, the dict's content, /proc states."""
    return {
        "children": [[pid, code] for pid, code in expected.items()],
        "recorded": [[_plain(k), _plain(v)] for k, v in dict(reaped).items()],
        "states": [[pid, _child_state(pid)] for pid in expected],
        "disposition": repr(signal.getsignal(signal.SIGCHLD)),
    }


def _cleanup(pids):
    """Take the student's handler out of the way and clear what is left."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    for pid in pids:
        if _child_state(pid) != "gone":
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)


# ---------------------------------------------------- escapes from the handler


def _student_line(exc, student):
    path = os.path.realpath(student.__file__)
    for fs in reversed(traceback.extract_tb(exc.__traceback__)):
        if os.path.realpath(fs.filename) == path:
            return f"{os.path.basename(path)} line {fs.lineno}: `{(fs.line or '').strip()}`"
    return None


def _escape_sentence(exc, student, doing):
    where = _student_line(exc, student)
    if where is None:
        return None
    name = type(exc).__name__
    text = f"{name}({exc})" if str(exc) else name
    why = (
        "os.waitpid(-1, ...) raises ChildProcessError (ECHILD) when this process has no "
        "children left, which is what happens after the last one is reaped: catch it in "
        "the handler and return."
        if isinstance(exc, ChildProcessError)
        else "a SIGCHLD handler must never raise."
    )
    return (
        f"{text} escaped from your SIGCHLD handler ({where}) into the program while {doing}: "
        f"an exception raised in a signal handler is raised again in whatever the main thread "
        f"was running, here the grader's code; {why}"
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


# ---------------------------------------------------------------- scenarios


def installed(student, ctx):
    """Install the reaper, look at the disposition of SIGCHLD, count threads,
    and let one child exit (a lazily started thread would show then)."""
    before = _threads()
    reaped = student.install_reaper()
    after = _threads()
    handler = signal.getsignal(signal.SIGCHLD)
    out = {
        "returned": type(reaped).__name__,
        "returned_repr": repr(reaped)[:200],
        "handler": repr(handler),
        "callable": callable(handler),
        "sig_ign": handler == signal.SIG_IGN,
        "sigcgt": bool(int(_self_status("SigCgt"), 16) & SIGCHLD_BIT),
        "sigign": bool(int(_self_status("SigIgn"), 16) & SIGCHLD_BIT),
        "threads_before": list(before),
        "threads_after": list(after),
        "threads_later": list(after),
    }
    if not isinstance(reaped, dict) or not out["callable"] or not out["sigcgt"]:
        return out
    guard = _Guard(student)
    pid = None
    try:
        with guard.watch():
            ready_r, ready_w = os.pipe()
            gate_r, gate_w = os.pipe()
            guard.doing = "forking a child"
            pid = _spawn(0, ready_w, gate_r, [ready_r, gate_w])
            os.close(ready_w)
            os.close(gate_r)
            _await_ready(ready_r, 1)
            os.close(ready_r)
            guard.doing = "one child exited with status 0"
            os.close(gate_w)
            _await_reaped(reaped, [pid], 1.0)
            out["threads_later"] = list(_threads())
    finally:
        _cleanup([pid] if pid else [])
    return out


CODE_PLAN = [0, 1, 2, 42, 127, 128, 255] + [
    -s
    for s in (
        signal.SIGHUP,
        signal.SIGINT,
        signal.SIGKILL,
        signal.SIGUSR1,
        signal.SIGPIPE,
        signal.SIGTERM,
    )
]


def one_at_a_time(student, ctx, plan=None):
    """Children exit one at a time with statuses 0..255 or die by a signal;
    each must be recorded with subprocess's return code. Each of them is the
    last child, so the handler meets "no child left" (ECHILD) every time; and
    SIGCHLD also arrives with no child at all, before and after."""
    reaped = _install(student)
    guard = _Guard(student)
    expected = {}
    try:
        with guard.watch():
            guard.doing = "a SIGCHLD arrived while this process had no children at all"
            signal.raise_signal(signal.SIGCHLD)  # runs the Python handler before returning
            for action in plan or CODE_PLAN:
                ready_r, ready_w = os.pipe()
                gate_r, gate_w = os.pipe()
                guard.doing = "forking a child"
                pid = _spawn(action, ready_w, gate_r, [ready_r, gate_w])
                expected[pid] = action
                os.close(ready_w)
                os.close(gate_r)
                _await_ready(ready_r, 1)
                os.close(ready_r)
                how = f"exited with status {action}" if action >= 0 else f"was killed by {signal.Signals(-action).name}"
                guard.doing = f"the only child (pid {pid}) {how}"
                os.close(gate_w)
                _await_reaped(reaped, [pid], 1.0)
                if pid not in reaped:
                    break  # the test reports it; the next children would not tell more
                guard.doing = f"a SIGCHLD arrived after the last child (pid {pid}) had been reaped"
                signal.raise_signal(signal.SIGCHLD)
            return _observe(reaped, expected)
    finally:
        _cleanup(expected)


BURST_SIGNALS = (signal.SIGHUP, signal.SIGKILL, signal.SIGUSR2, signal.SIGALRM, signal.SIGTERM)
BURST_PLAN = [0, 255] + [5 * i + 1 for i in range(43)] + [-s for s in BURST_SIGNALS]


def burst(student, ctx, plan=None):
    """50 children exit at the same moment (one gate pipe closed for all):
    their SIGCHLDs merge, yet every one must be reaped and recorded."""
    reaped = _install(student)
    guard = _Guard(student)
    expected = {}
    try:
        with guard.watch():
            ready_r, ready_w = os.pipe()
            gate_r, gate_w = os.pipe()
            guard.doing = "forking 50 children"
            for action in plan or BURST_PLAN:
                expected[_spawn(action, ready_w, gate_r, [ready_r, gate_w])] = action
            os.close(ready_w)
            os.close(gate_r)
            _await_ready(ready_r, len(expected))
            os.close(ready_r)
            early = dict(reaped)
            guard.doing = "50 children exited at the same moment"
            t0 = time.monotonic()
            os.close(gate_w)  # every child reads EOF now and exits
            _await_reaped(reaped, list(expected), 2.0)
            out = _observe(reaped, expected)
            out["early"] = [[_plain(k), _plain(v)] for k, v in early.items()]
            out["elapsed"] = round(time.monotonic() - t0, 3)
            return out
    finally:
        _cleanup(expected)


SIBLING_CODE = 77
SHORT_PLAN = [11, 12, 13, 14, 15]
STUCK_AFTER_REAPED = 0.5  # s the main thread may stay away once the short children are gone
STUCK_AT_MOST = 1.5  # s after the release, whatever happens


def _watch_main(main_tid, shorts, main_back, release_sibling, info, t_release):
    """Helper thread: if the main thread does not come back from waiting for the
    short children (it is stuck inside the student's handler), note what it is
    doing and release the long-running sibling, which unblocks it."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})  # deliver SIGCHLD to main only
    gone_since = None
    while not main_back.wait(0.005):
        now = time.monotonic()
        if gone_since is None and all(_child_state(p) == "gone" for p in shorts):
            gone_since = now
        if (gone_since is not None and now - gone_since >= STUCK_AFTER_REAPED) or (now - t_release >= STUCK_AT_MOST):
            samples = []
            for _ in range(20):
                st = _stat(os.getpid(), main_tid)
                samples.append(st[0] if st else "?")
                time.sleep(0.001)
            wchan = ""
            with contextlib.suppress(OSError):
                with open(f"/proc/self/task/{main_tid}/wchan") as f:
                    wchan = f.read().strip()
            info.update(
                fired=True,
                after=round(now - t_release, 3),
                shorts_gone=gone_since is not None,
                main_states="".join(samples),
                main_wchan=wchan,
            )
            release_sibling()
            return


def sibling(student, ctx):
    """A long-running sibling stays alive while 5 other children exit: the
    handler must reap those without waiting for the sibling, and must not
    record the sibling until it has exited."""
    reaped = _install(student)
    guard = _Guard(student)
    expected = {}
    info = {"fired": False}
    escaped = None
    helper = None
    try:
        with guard.watch():
            ready_r, ready_w = os.pipe()
            s_r, s_w = os.pipe()
            guard.doing = "forking children"
            sib = _spawn(SIBLING_CODE, ready_w, s_r, [ready_r, s_w])
            gate_r, gate_w = os.pipe()
            shorts = [_spawn(c, ready_w, gate_r, [ready_r, gate_w, s_w]) for c in SHORT_PLAN]
            expected.update(zip(shorts, SHORT_PLAN))
            expected[sib] = SIBLING_CODE
            for fd in (ready_w, s_r, gate_r):
                os.close(fd)
            _await_ready(ready_r, len(expected))
            os.close(ready_r)

            lock = threading.Lock()
            sib_open = [True]

            def release_sibling():
                with lock:
                    if sib_open[0]:
                        sib_open[0] = False
                        os.close(s_w)

            main_back = threading.Event()
            t_release = time.monotonic()
            helper = threading.Thread(
                target=_watch_main,
                args=(threading.main_thread().native_id, shorts, main_back, release_sibling, info, t_release),
                daemon=True,
            )
            helper.start()
            guard.doing = "5 children exited while a sibling was still running"
            os.close(gate_w)
            try:
                _await_reaped(reaped, shorts, 1.0)
                elapsed = round(time.monotonic() - t_release, 3)
            except BaseException as exc:  # judged below, after a possible stall
                escaped = exc
            main_back.set()
            helper.join(3.0)
            if info["fired"]:
                # the handler came back only once the helper released the sibling
                out = _observe(reaped, expected)
                out.update(info, sibling=sib)
                return out
            if escaped is not None:
                raise escaped
            out = {
                "sibling": sib,
                "sibling_state_before": _child_state(sib),
                "sibling_recorded_before": _plain(reaped[sib]) if sib in reaped else None,
                "shorts_before": _observe(reaped, {p: expected[p] for p in shorts}),
            }
            out["shorts_before"]["elapsed"] = elapsed
            guard.doing = "the long-running sibling exited last"
            release_sibling()
            _await_reaped(reaped, [sib], 1.0)
            out.update(_observe(reaped, expected))
            out.update(info)
            return out
    finally:
        if helper is not None and helper.is_alive():
            helper.join(3.0)
        _cleanup(expected)
