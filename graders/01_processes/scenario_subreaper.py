"""Scenario for the subreaper exercise: it runs beside the student's adopt_orphan(work).

One launch, seven calls of adopt_orphan(work), each watched from outside by the test
(test_subreaper.py), which reads /proc on the pytest side:

  call 0  plain: the caller is no subreaper before the call (the scenario clears the flag);
  call 1  already: the caller already is a subreaper (the scenario set the flag): it must stay one;
  call 2  odd_name: the caller's name (comm, prctl PR_SET_NAME) is "x) R 1 (y": /proc/<pid>/stat
          split on blanks gives 1 as the grandchild's ppid; split after the last ')' is right;
  call 3  others: the caller already has two children of its own, one running and one a zombie;
          adopt_orphan must wait for neither;
  call 4  work_raises: work() raises in the grandchild: no process may come back out;
  call 5  fork_refused: a seccomp filter makes every fork fail (EAGAIN) after prctl succeeded:
          the flag must be put back, nothing left, no descriptor left open;
  call 6  prctl_refused: a second filter makes prctl(PR_SET_CHILD_SUBREAPER) fail with an errno
          drawn by the test: OSError with that errno, no fork attempted.
  (A seccomp filter cannot be taken back: the two refusals come last, forks first.)

How the schedule is forced (no sleep decides anything; every wait has a deadline):

* os.register_at_fork hooks see every os.fork made under the caller: before each fork of the
  caller itself they read its subreaper flag (was it set before the first fork?); in every
  forked process they note its pid and depth (1: a child of the caller, 2: a grandchild) in
  memory that the next fork copies (so the grandchild knows its parent at birth, whatever
  getppid says by then) and on a pipe the caller reads.
* Gate 1, in the middle child right after it has forked the grandchild (after_in_parent hook,
  before the student's code goes on): wait until the caller is asleep (state S: blocked in its
  read, wait or sigwait; 0.3 s deadline). Whatever the caller does between its fork and its
  first blocking call (clearing the flag too early, say) has therefore happened before the
  middle child can exit.
* Gate 2, in the grandchild right after its birth (after_in_child hook, before any of the
  student's code runs there): wait until its parent at birth has exited, i.e. until the kernel
  has re-parented it (os.getppid() changes; a pidfd of the parent wakes the wait). So a
  grandchild that asks os.getppid() for its "parent at birth" always gets its new parent. A
  parent seen asleep in a wait call (wchan do_wait) is waiting for the grandchild and will never
  exit first: reported, and the wait ends at once.
* work() is the grader's function. In the grandchild it reports `held` (pid, depth, parent at
  birth, what gate 2 saw) and waits, SIGUSR1 blocked, in sigtimedwait until the test has read
  /proc/<pid>/stat from outside and sends SIGUSR1. Only then does it return the token the test
  drew, the grandchild's exit status. (In call 4 it raises instead.)
* An audit hook (event "open") in the caller notes, each time the caller opens
  /proc/<n>/stat or /proc/<n>/status during a call, whether the middle child had been reaped
  yet (waitid with WNOWAIT|WNOHANG: running, exited, or no longer a child). The test judges the
  last such open of the grandchild's file: "ppid_after" must be read after the middle child was
  reaped. This is what makes reading it too early (right after end-of-file on the pipe, which a
  dying middle child causes before its children are handed over) fail on every run.
* After adopt_orphan returns (or raises), the caller reports `returned` (the value, the
  subreaper flag after the call, what was forked, the fds open before the call, the opens) and
  waits the same way for the test's SIGUSR1, so the test reads the caller's children and fds in
  /proc, zombies included, before anything else happens. Then the scenario clears what the call
  left: it waits (deadline) for every process forked under the call to end, kills what does not,
  reaps its own zombies.

A forked process that comes back out of adopt_orphan into this code reports `escaped` and ends
at once with os._exit(0). Every event is called "step" (events from the caller and from forked
processes may interleave): data["what"] says which. Nothing here decides a verdict.
"""

import contextlib
import ctypes
import errno
import os
import platform
import re
import select
import signal
import struct
import sys
import time
import traceback

PR_SET_NAME = 15
PR_GET_NAME = 16
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
PR_SET_CHILD_SUBREAPER = 36
PR_GET_CHILD_SUBREAPER = 37
CLONE_THREAD = 0x00010000
GO = signal.SIGUSR1
PARENT_DEADLINE = 1.0   # s for the middle child to exit once the grandchild exists (a right one: < 10 ms)
ASLEEP_DEADLINE = 0.3   # s for the caller to block after forking (a right one: well under 1 ms)
HOLD_DEADLINE = 5.0     # s for the test's SIGUSR1 (it sends it as soon as it has looked)
OTHERS_DEADLINE = 8.0   # s the caller's own running child waits to be released (beyond the test's deadline)
SETTLE_DEADLINE = 1.5   # s for what a call forked to end after the call (> PARENT_DEADLINE)
WAIT_CHANNELS = ("do_wait", "kernel_wait4", "kernel_waitid", "do_waitid")
STUCK_ASLEEP = 5        # samples (5 ms apart) of the middle child asleep in a wait call
FORK_RECORD = struct.Struct("=iii")   # pid, depth, call
ODD_NAME = b"x) R 1 (y"               # comm of call 2: field 4 counted by blanks reads "1"
PROC_FILE = re.compile(r"/proc/(\d+)(?:/task/\d+)?/(?:stat|status)")
RAISED_BY_WORK = "work() failed on purpose (the grader's test of a work() that raises)"

# prctl of our own, captured before the student's module is imported (its CDLL is another object).
_LIBC = ctypes.CDLL(None, use_errno=True)
_PRCTL = _LIBC.prctl
_PRCTL.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
_PRCTL.restype = ctypes.c_int

# Data only (the harness fingerprints this module's functions; none is ever rebound).
_STATE = {"caller": None, "call": -1, "active": False, "lineage": [], "forks_r": None, "forks_w": None,
          "records": [], "rest": b"", "at_fork": [], "opens": {}, "in_hook": False, "student_file": "",
          "birth_wait": None}

# (AUDIT_ARCH_*, prctl, clone, clone3, [fork, vfork]) system call numbers for the seccomp filters.
_ARCHES = {
    "x86_64": (0xC000003E, 157, 56, 435, (57, 58)),
    "amd64": (0xC000003E, 157, 56, 435, (57, 58)),
    "aarch64": (0xC00000B7, 167, 220, 435, ()),
    "arm64": (0xC00000B7, 167, 220, 435, ()),
    "riscv64": (0xC00000F3, 167, 220, 435, ()),
}


# ------------------------------------------------------------------------------ helpers


def _get_subreaper():
    flag = ctypes.c_int(-1)
    if _PRCTL(PR_GET_CHILD_SUBREAPER, ctypes.addressof(flag), 0, 0, 0) != 0:
        return None
    return flag.value


def _set_subreaper(value):
    return _PRCTL(PR_SET_CHILD_SUBREAPER, value, 0, 0, 0) == 0


def _get_name():
    buf = ctypes.create_string_buffer(16)
    _PRCTL(PR_GET_NAME, ctypes.addressof(buf), 0, 0, 0)
    return buf.value


def _set_name(name):
    buf = ctypes.create_string_buffer(name[:15], 16)
    _PRCTL(PR_SET_NAME, ctypes.addressof(buf), 0, 0, 0)


def _stat(pid):
    """(state letter, ppid) from /proc/PID/stat, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2:].split()
    return fields[0].decode(), int(fields[1])


def _wchan(pid):
    with contextlib.suppress(OSError):
        with open(f"/proc/{pid}/wchan") as f:
            return f.read().strip()
    return ""


def _open_fds():
    """The fds open in this process (the listing's own fd left out)."""
    fd = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
    try:
        return sorted(int(name) for name in os.listdir(fd) if int(name) != fd)
    finally:
        os.close(fd)


def _collect():
    """Read the fork records that have arrived (non-blocking) into _STATE["records"]."""
    r = _STATE["forks_r"]
    data = _STATE["rest"]
    while r is not None:
        try:
            chunk = os.read(r, 1 << 16)
        except (BlockingIOError, OSError):
            break
        if not chunk:
            break
        data += chunk
    size = FORK_RECORD.size
    whole = len(data) - len(data) % size
    _STATE["records"].extend(FORK_RECORD.unpack(data[i:i + size]) for i in range(0, whole, size))
    _STATE["rest"] = data[whole:]


def _middle_state(m):
    """'running', 'exited' (a zombie not yet reaped) or 'reaped' (no longer a child of ours)."""
    try:
        info = os.waitid(os.P_PID, m, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return "reaped"
    except OSError:
        return "unknown"
    return "running" if info is None else "exited"


def _student_frame_line(frame):
    path = _STATE["student_file"]
    while frame is not None:
        if os.path.realpath(frame.f_code.co_filename) == path:
            return f"{os.path.basename(path)} line {frame.f_lineno}"
        frame = frame.f_back
    return None


def _audit(event, args):
    """In the caller, during a call: each open of /proc/<n>/stat(us), and how far the middle
    child(ren) of this call had got by then."""
    if event != "open" or not _STATE["active"] or _STATE["in_hook"]:
        return
    _STATE["in_hook"] = True
    try:
        if os.getpid() != _STATE["caller"] or not args:
            return
        path = args[0]
        if isinstance(path, bytes):
            path = path.decode(errors="replace")
        if not isinstance(path, str):
            return
        match = PROC_FILE.fullmatch(os.path.normpath(path))
        if not match:
            return
        _collect()
        call = _STATE["call"]
        middles = {pid: _middle_state(pid) for pid, depth, c in _STATE["records"] if c == call and depth == 1}
        _STATE["opens"][int(match.group(1))] = {"middles": {str(k): v for k, v in middles.items()},
                                                "line": _student_frame_line(sys._getframe(1))}
    except Exception:  # noqa: BLE001 - never disturb the student's open()
        pass
    finally:
        _STATE["in_hook"] = False


def _before_fork():
    if os.getpid() == _STATE["caller"] and _STATE["active"]:
        _STATE["at_fork"].append(_get_subreaper())


def _after_fork_in_child():
    _STATE["lineage"] = _STATE["lineage"] + [os.getpid()]
    _STATE["birth_wait"] = None
    w = _STATE["forks_w"]
    if w is not None:
        with contextlib.suppress(OSError):
            os.write(w, FORK_RECORD.pack(os.getpid(), len(_STATE["lineage"]), _STATE["call"]))
    if _STATE["active"] and len(_STATE["lineage"]) == 2:
        # Gate 2: no code of the student runs in the grandchild before its parent at birth has exited.
        _STATE["birth_wait"] = _await_parent_exit(_STATE["lineage"][0])


def _after_fork_in_parent():
    if not _STATE["active"] or len(_STATE["lineage"]) != 1 or os.getpid() == _STATE["caller"]:
        return
    # Gate 1, in the middle child that has just forked: let the caller reach its first blocking call.
    caller = _STATE["caller"]
    deadline = time.monotonic() + ASLEEP_DEADLINE
    while time.monotonic() < deadline:
        st = _stat(caller)
        if st is None or st[0] == "S":           # asleep in a blocking call (read, wait, sigwait...)
            return
        select.select([], [], [], 0.0005)


def _student_line(exc, student):
    path = os.path.realpath(getattr(student, "__file__", "") or "")
    for fs in reversed(traceback.extract_tb(exc.__traceback__)):
        if os.path.realpath(fs.filename) == path:
            return f"{os.path.basename(path)} line {fs.lineno}: `{(fs.line or '').strip()}`"
    return None


def _describe(exc, student):
    try:
        text = str(exc)[:300]
    except Exception:  # noqa: BLE001 - a student's exception whose str() fails
        text = ""
    return {
        "type": type(exc).__name__,
        "text": text,
        "oserror": isinstance(exc, OSError),
        "errno": exc.errno if isinstance(exc, OSError) and type(exc.errno) is int else None,
        "line": _student_line(exc, student),
    }


def _shown(value):
    """What adopt_orphan returned, in a form JSON carries (ints stay ints, the rest is shown)."""
    def show(x):
        try:
            return repr(x)[:80]
        except Exception:  # noqa: BLE001
            return f"<{type(x).__name__}>"
    if not isinstance(value, dict):
        return {"type": type(value).__name__, "repr": show(value)}
    items = {}
    for k, v in list(dict.items(value)):
        items[k if type(k) is str else show(k)] = v if type(v) is int else show(v)
    return {"type": type(value).__name__, "items": items}


def _drain_go():
    with contextlib.suppress(OSError):
        while signal.sigtimedwait({GO}, 0) is not None:
            pass


def _hold():
    """Wait (GO blocked) until the test sends GO, or the deadline passes."""
    with contextlib.suppress(OSError):
        signal.sigtimedwait({GO}, HOLD_DEADLINE)


def _escaped(ctx, call, how):
    """A forked process came back out of adopt_orphan: say so and end it here."""
    with contextlib.suppress(Exception):
        ctx.event("step", what="escaped", call=call, pid=os.getpid(), depth=len(_STATE["lineage"]), how=how)
    os._exit(0)


def _wait_exit(pid, timeout):
    """Wait until pid has ended (a pidfd wakes the wait); True when it has."""
    try:
        fd = os.pidfd_open(pid)
    except OSError:
        return True
    try:
        return bool(select.select([fd], [], [], max(0.0, timeout))[0])
    finally:
        os.close(fd)


# ------------------------------------------------------------------------ the grandchild


def _await_parent_exit(parent):
    """In the grandchild: wait until its parent at birth has exited (getppid changes when the
    kernel re-parents us). Returns what was seen."""
    t0 = time.monotonic()
    deadline = t0 + PARENT_DEADLINE
    fd = None
    with contextlib.suppress(OSError, AttributeError):
        fd = os.pidfd_open(parent)          # readable once the parent has exited
    asleep = 0
    try:
        while os.getppid() == parent:
            now = time.monotonic()
            st = _stat(parent)
            wchan = _wchan(parent)
            asleep = asleep + 1 if st and st[0] in "SD" and wchan in WAIT_CHANNELS else 0
            if asleep >= STUCK_ASLEEP or now >= deadline:
                return {"parent_exited": False, "parent_waiting": asleep >= STUCK_ASLEEP,
                        "parent_state": st[0] if st else "gone", "parent_wchan": wchan,
                        "waited": round(now - t0, 3)}
            if fd is not None:
                select.select([fd], [], [], min(0.005, deadline - now))
            else:
                select.select([], [], [], 0.002)
        return {"parent_exited": True, "waited": round(time.monotonic() - t0, 3)}
    finally:
        if fd is not None:
            os.close(fd)


def _make_work(ctx, call, token, mode="hold"):
    def work():
        if mode == "plain":
            return token
        signal.pthread_sigmask(signal.SIG_BLOCK, {GO})   # before the report: GO waits, pending
        me = os.getpid()
        lineage = list(_STATE["lineage"])
        # 0: the caller itself; -1: a process the register_at_fork hooks never saw (not made by os.fork)
        depth = 0 if me == _STATE["caller"] else len(lineage) or -1
        parent = lineage[-2] if depth >= 2 else (_STATE["caller"] if depth == 1 else os.getppid())
        report = {"what": "held" if mode == "hold" else "raising", "call": call, "pid": me, "depth": depth,
                  "born_of": parent, "token": token}
        if depth >= 2:
            seen = _STATE["birth_wait"] if depth == 2 else None
            report.update(seen if seen is not None else _await_parent_exit(parent))
        report["ppid"] = os.getppid()
        try:
            ctx.event("step", **report)
        except Exception:  # noqa: BLE001 - the student closed the grader's pipe in this process
            pass
        if mode == "raise":
            raise RuntimeError(RAISED_BY_WORK)
        _hold()
        return token
    return work


# ----------------------------------------------------------------------------- one call


def _call(student, ctx, call, work, before, extra=None):
    """Call adopt_orphan(work) once, report, let the test look (the caller stays still meanwhile)."""
    _collect()
    _STATE["call"] = call
    _STATE["lineage"] = []
    _STATE["at_fork"] = []
    _STATE["records"] = []
    _STATE["opens"] = {}
    fds_before = _open_fds()
    value = raised = None
    _STATE["active"] = True
    try:
        value = student.adopt_orphan(work)
    except NotImplementedError:
        if os.getpid() != _STATE["caller"]:
            _escaped(ctx, call, "raised NotImplementedError")
        _STATE["active"] = False
        raise
    except BaseException as exc:  # noqa: BLE001 - everything the student raises is reported
        if os.getpid() != _STATE["caller"]:
            d = _describe(exc, student)
            _escaped(ctx, call, f"raised {d['type']}" + (f" at {d['line']}" if d["line"] else ""))
        raised = _describe(exc, student)
    else:
        if os.getpid() != _STATE["caller"]:
            _escaped(ctx, call, f"returned {_shown(value)}")
    _STATE["active"] = False
    signal.pthread_sigmask(signal.SIG_BLOCK, {GO})
    _drain_go()
    _collect()
    forks = [(pid, depth) for pid, depth, c in _STATE["records"] if c == call]
    report = {"what": "returned", "call": call, "subreaper_before": before, "subreaper_after": _get_subreaper(),
              "at_fork": list(_STATE["at_fork"]), "forks": forks, "fds_before": fds_before,
              "opens": {str(k): v for k, v in _STATE["opens"].items()}}
    report.update(extra or {})
    if raised is not None:
        report["raised"] = raised
    else:
        report["value"] = _shown(value)
    ctx.event("step", **report)
    _hold()
    return [pid for pid, _ in forks]


def _settle(pids):
    """Let what the call forked end (held grandchildren are released by the test), kill what
    does not, reap our own zombies."""
    deadline = time.monotonic() + SETTLE_DEADLINE
    for pid in pids:
        if not _wait_exit(pid, deadline - time.monotonic()):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
    for pid in pids:
        st = _stat(pid)
        if st and st[1] == os.getpid():
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break


# ------------------------------------------------------------- call 3: children of its own


def _other_children():
    """Two children of the caller's own, made before the call: one running (it waits until the
    pipe it reads is closed), one a zombie (it has exited; nobody has reaped it)."""
    _STATE["active"], _STATE["call"] = False, -1
    r, w = os.pipe()
    running = os.fork()
    if running == 0:
        try:
            os.close(w)
            select.select([r], [], [], OTHERS_DEADLINE)
        finally:
            os._exit(0)
    os.close(r)
    zombie = os.fork()
    if zombie == 0:
        os._exit(0)
    _wait_exit(zombie, PARENT_DEADLINE)   # exited: a zombie now (nobody reaps it)
    return running, zombie, w


def _release_others(running, zombie, w):
    os.close(w)                            # the running one reads end-of-file and exits
    if not _wait_exit(running, SETTLE_DEADLINE):
        with contextlib.suppress(OSError):
            os.kill(running, signal.SIGKILL)
    for pid in (running, zombie):
        with contextlib.suppress(OSError):
            os.waitpid(pid, 0)


# --------------------------------------------------------------------- the seccomp filters


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


_LD, _JEQ, _JSET, _RET = 0x20, 0x15, 0x45, 0x06   # BPF_LD|W|ABS, BPF_JMP|JEQ|K, BPF_JMP|JSET|K, BPF_RET|K
_ALLOW = 0x7FFF0000


def _errno_action(err):
    return 0x00050000 | (err & 0xFFFF)             # SECCOMP_RET_ERRNO | err


def _assemble(program):
    """program: (label or None, code, jt label, jf label, k); jumps name a label (None: next)."""
    where = {item[0]: i for i, item in enumerate(program) if item[0]}
    out = []
    for i, (_, code, jt, jf, k) in enumerate(program):
        out.append((code, where[jt] - i - 1 if jt else 0, where[jf] - i - 1 if jf else 0, k))
        assert all(0 <= j < 256 for j in out[-1][1:3]), "classic BPF jumps only forward"
    return out


def _install(program):
    """Install a seccomp filter; None when it worked, else why not."""
    filters = (_SockFilter * len(program))(*[_SockFilter(*insn) for insn in _assemble(program)])
    prog = _SockFprog(len(program), filters)
    if _PRCTL(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return f"PR_SET_NO_NEW_PRIVS failed ({os.strerror(ctypes.get_errno())})"
    if _PRCTL(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.addressof(prog), 0, 0) != 0:
        return f"seccomp failed ({os.strerror(ctypes.get_errno())})"
    return None


def _arch():
    arch = _ARCHES.get(platform.machine().lower())
    if arch is None or struct.pack("=H", 1) != b"\x01\x00":
        return None
    return arch


def _refuse_forks():
    """Install a seccomp filter under which every fork fails with EAGAIN (clone without
    CLONE_THREAD, fork, vfork; clone3 answers ENOSYS, so threads fall back to clone and still
    start). Returns None when it works, else why not."""
    arch = _arch()
    if arch is None:
        return f"no seccomp filter for {platform.machine()} here"
    audit_arch, _, nr_clone, nr_clone3, nr_forks = arch
    program = [
        (None, _LD, None, None, 4),                       # A = seccomp_data.arch
        (None, _JEQ, None, "allow", audit_arch),          # another ABI: allow
        (None, _LD, None, None, 0),                       # A = seccomp_data.nr
        (None, _JEQ, "clone", None, nr_clone),
        (None, _JEQ, "enosys", None, nr_clone3),
    ]
    program += [(None, _JEQ, "eagain", None, nr) for nr in nr_forks]
    program += [
        ("allow", _RET, None, None, _ALLOW),
        ("clone", _LD, None, None, 16),                   # A = low 32 bits of args[0], the flags
        (None, _JSET, "thread", "eagain", CLONE_THREAD),  # a thread: allow; a process: refuse
        ("eagain", _RET, None, None, _errno_action(errno.EAGAIN)),
        ("enosys", _RET, None, None, _errno_action(errno.ENOSYS)),
        ("thread", _RET, None, None, _ALLOW),
    ]
    why = _install(program)
    if why:
        return why
    _STATE["active"], _STATE["call"] = False, -1
    try:
        probe = os.fork()
    except BlockingIOError:
        return None
    if probe == 0:
        os._exit(0)
    with contextlib.suppress(OSError):
        os.waitpid(probe, 0)
    return "the seccomp filter did not take"


def _refuse_subreaper(err):
    """Install a seccomp filter under which prctl(PR_SET_CHILD_SUBREAPER, ...) fails with errno
    `err` and every other system call goes through. Returns None when it works, else why not."""
    arch = _arch()
    if arch is None:
        return f"no seccomp filter for {platform.machine()} here"
    audit_arch, nr_prctl = arch[0], arch[1]
    program = [
        (None, _LD, None, None, 4),                       # A = seccomp_data.arch
        (None, _JEQ, None, "allow", audit_arch),          # another ABI: allow
        (None, _LD, None, None, 0),                       # A = seccomp_data.nr
        (None, _JEQ, None, "allow", nr_prctl),            # not prctl: allow
        (None, _LD, None, None, 16),                      # A = low 32 bits of args[0] (little-endian)
        (None, _JEQ, None, "allow", PR_SET_CHILD_SUBREAPER),  # another prctl option: allow
        (None, _RET, None, None, _errno_action(err)),
        ("allow", _RET, None, None, _ALLOW),
    ]
    why = _install(program)
    if why:
        return why
    ctypes.set_errno(0)
    took = _PRCTL(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0) == -1 and ctypes.get_errno() == err
    ctypes.set_errno(0)   # ctypes' saved errno is shared by every CDLL: leave the student nothing of ours
    return None if took else "the seccomp filter did not take"


# ------------------------------------------------------------------------------ scenario


def adopt(student, ctx, tokens, refuse):
    """Seven calls of adopt_orphan(work): see the module docstring."""
    _STATE["caller"] = os.getpid()
    _STATE["student_file"] = os.path.realpath(getattr(student, "__file__", "") or "")
    forks_r, forks_w = os.pipe()
    os.set_blocking(forks_r, False)
    os.set_blocking(forks_w, False)
    _STATE["forks_r"], _STATE["forks_w"] = forks_r, forks_w
    os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child,
                        after_in_parent=_after_fork_in_parent)
    sys.addaudithook(_audit)

    # calls 0 and 1: the flag clear, then set, before the call
    for call, flag in ((0, 0), (1, 1)):
        _set_subreaper(flag)
        _settle(_call(student, ctx, call, _make_work(ctx, call, tokens[call]), _get_subreaper()))

    # call 2: the caller's name (and so its children's) has blanks and parentheses
    _set_subreaper(0)
    name = _get_name()
    _set_name(ODD_NAME)
    try:
        pids = _call(student, ctx, 2, _make_work(ctx, 2, tokens[2]), _get_subreaper(),
                     {"comm": ODD_NAME.decode()})
    finally:
        _set_name(name)
    _settle(pids)

    # call 3: the caller already has a running child and a zombie child of its own
    _set_subreaper(0)
    running, zombie, release = _other_children()
    ctx.event("step", what="others", call=3, running=running, zombie=zombie)
    try:
        pids = _call(student, ctx, 3, _make_work(ctx, 3, tokens[3]), _get_subreaper(),
                     {"others": {"running": running, "zombie": zombie}})
    finally:
        _release_others(running, zombie, release)
    _settle(pids)

    # call 4: work() raises in the grandchild
    _set_subreaper(0)
    _settle(_call(student, ctx, 4, _make_work(ctx, 4, 0, mode="raise"), _get_subreaper()))

    # call 5: every fork fails (after prctl succeeded)
    _set_subreaper(0)
    unavailable = _refuse_forks()
    if unavailable:
        for call in (5, 6):
            ctx.event("step", what="returned", call=call, unavailable=unavailable)
            _hold()
        return {"calls": 7}
    _settle(_call(student, ctx, 5, _make_work(ctx, 5, 0, mode="plain"), _get_subreaper()))

    # call 6: prctl(PR_SET_CHILD_SUBREAPER) fails (forks still fail too)
    _set_subreaper(0)
    unavailable = _refuse_subreaper(refuse)
    if unavailable:
        ctx.event("step", what="returned", call=6, unavailable=unavailable)
        _hold()
    else:
        _settle(_call(student, ctx, 6, _make_work(ctx, 6, 0, mode="plain"), 0))
    return {"calls": 7}
