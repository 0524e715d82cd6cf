"""Scenario for spawn_exec: it runs beside the student's spawn(argv, preexec_fn) in the sandbox.

1. The gated call, watched from outside by the test. The scenario makes its own state easy to
   recognise: a random variable in os.environ, a random current directory, a pipe as its stdin
   (fd 0), two fds made inheritable on purpose (a file named `inherited-<token>`, as fd 3 and
   again as a high fd, 700 or more), and two children of its own that spawn must leave alone
   (one asleep, one already exited: a zombie, waited for with WNOWAIT, which reaps nothing). It
   says `calling` and waits at the FIFO `go` while the test reads its fds and children. Then it
   calls spawn(["cat", POST], preexec_fn=hook) (cat by its bare name: PATH is searched): `hook`
   waits at the FIFO `pre` (so the child is held after the fork, before exec), then opens a file
   `preexec-<token>` inheritable and leaves it open; `cat POST` waits at the FIFO `post` (after
   exec). The test holds both: it looks at the same pid before and after exec, then lets it go.
   The scenario says `returned` and waits at `finish` while the test looks again (zombie? fds?
   the other children?), then ends its own children.
2. A batch of plain calls (exit statuses, deaths by signals, a death with a core dump, PATH search,
   commands that cannot be found or executed, a preexec_fn that raises), one `case` event each,
   with what each call left behind: children not reaped (waitid with WNOWAIT, which reaps
   nothing). One call runs a program that stops itself (SIGSTOP): the scenario says `stopping`
   first, and after the call waits at the FIFO `cont` while the test, which continued the program
   from outside, looks.

A forked child that comes back into this code (spawn returned or raised in the child, not only
in the parent) is noted in the file `ran-on` of the private folder and ends at once with the
status it would have reached: it never runs the rest of the scenario.
"""

import inspect
import os
import random
import resource
import shutil
import signal
import time
import traceback

from graders.harness.scenario import Fail, end_other_children, other_children, pass_gate

RAN_ON = "ran-on"
NOT_EXECUTABLE = "not-executable"


def _ran_on(tmp: str, how: str, code: int) -> None:
    try:
        fd = os.open(os.path.join(tmp, RAN_ON), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.write(fd, f"pid {os.getpid()} (a child of pid {os.getppid()}) {how}\n".encode()[:500])
        os.close(fd)
    finally:
        os._exit(code)


def _student_line(exc: BaseException, student) -> str:
    path = os.path.abspath(getattr(student, "__file__", "") or "")
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if os.path.abspath(frame.filename) == path:
            where = f" ({os.path.basename(path)} line {frame.lineno}: `{(frame.line or '').strip()[:80]}`)"
    return where


def _call(student, ctx, me: int, argv: list[str], **kwargs):
    """spawn(argv), with a watch for a forked child that comes back here."""
    shown = f"spawn({argv!r:.150})"
    try:
        value = student.spawn(argv, **kwargs)
    except BaseException as exc:
        if os.getpid() != me:
            code = exc.code if isinstance(exc, SystemExit) and isinstance(exc.code, int) else 1
            _ran_on(ctx.tmp, f"raised {type(exc).__name__}({str(exc)[:80]!r}){_student_line(exc, student)} out of "
                             f"{shown} into the caller's code", code & 0xFF)
        raise
    if os.getpid() != me:
        _ran_on(ctx.tmp, f"returned {value!r:.60} from {shown} into the caller's code",
                value & 0xFF if type(value) is int else 0)
    return value


def _plain(value):
    return value if type(value) is int else {"__type__": type(value).__name__, "__repr__": repr(value)[:100]}


def _left_behind() -> str | None:
    """Children of this process not reaped: 'zombie', 'running', or None. Reaps nothing (WNOWAIT)."""
    try:
        info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return None
    return f"zombie {info.si_pid}" if info is not None else "running"


def _clear_children() -> None:
    """Reap what a call left behind, so that the next call is judged on its own."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _settle(timeout: float = 1.0) -> None:
    """Wait (at most TIMEOUT) for every child a call left behind to end, and reap it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            if time.monotonic() >= deadline:
                return
            time.sleep(0.002)


def _high_fd() -> int | None:
    """A free fd number of 700 or more, below the fd limit (None when the limit is too low)."""
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    top = min(soft if soft != resource.RLIM_INFINITY else 4096, 4096)
    for _ in range(50):
        fd = random.randrange(700, top) if top > 701 else (top - 1 if top > 258 else None)
        if fd is None:
            return None
        try:
            os.fstat(fd)
        except OSError:
            return fd
    return None


def _raiser(message: str):
    def preexec_fn():
        raise RuntimeError(message)
    return preexec_fn


def _path_trap(where: str, name: str) -> str:
    """Two directories for PATH: the first holds NAME without execute permission, the second NAME as
    a working program (a symbolic link to sh: the private folder may be mounted noexec)."""
    first, second = os.path.join(where, "path-first"), os.path.join(where, "path-second")
    os.makedirs(first, exist_ok=True)
    os.makedirs(second, exist_ok=True)
    with open(os.path.join(first, name), "w") as f:
        f.write("#!/bin/sh\nexit 0\n")
    os.chmod(os.path.join(first, name), 0o644)
    os.symlink(shutil.which("sh"), os.path.join(second, name))
    return os.pathsep.join([first, second, os.environ.get("PATH", os.defpath)])


def spawns(student, ctx, go, pre, post, finish, env_token, subdir, cases, signals, zombie_code):
    me = os.getpid()
    try:
        inspect.signature(student.spawn).bind(["true"], preexec_fn=None)
    except TypeError as exc:
        raise Fail(f"spawn cannot be called as spawn(argv, preexec_fn=...) ({exc}): keep the signature of the "
                   "stub, def spawn(argv: list[str], preexec_fn=None) -> int") from None
    except (ValueError, AttributeError):
        pass   # no signature to read (a builtin, a missing function): the call itself will say
    for signum in signals:          # whatever the grader inherited, the children get the default action
        signal.signal(signum, signal.SIG_DFL)
    tools = {"{sh}": shutil.which("sh"), "{cat}": shutil.which("cat")}
    if not all(tools.values()):
        raise RuntimeError(f"the grader needs sh and cat on PATH ({os.environ.get('PATH')}); please report this")

    # -- 1. the gated call ------------------------------------------------------------------
    home = os.getcwd()
    where = os.path.join(ctx.tmp, subdir)
    os.mkdir(where)
    os.chdir(where)
    os.environ["PROCLAB_SPAWN_TOKEN"] = env_token
    stdin_r, stdin_w = os.pipe()
    saved_stdin = os.dup(0)
    os.dup2(stdin_r, 0)                               # inheritable, as fd 0 is
    os.close(stdin_r)
    inherited_path = os.path.join(ctx.tmp, f"inherited-{env_token}")
    inherited = os.open(inherited_path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.set_inheritable(inherited, True)
    high = _high_fd()
    if high is not None:
        os.dup2(inherited, high, inheritable=True)    # closing fds 3..255 only leaves this one open
    preexec_path = os.path.join(ctx.tmp, f"preexec-{env_token}")
    asleep, zombie = other_children(zombie_code)
    try:
        argv = ["cat", post]
        ctx.event("calling", argv=argv, env=dict(os.environ), cwd=os.getcwd(), inherited_fd=inherited,
                  inherited_path=os.path.realpath(inherited_path), high_fd=high,
                  preexec_path=os.path.realpath(preexec_path), cat=os.path.realpath(tools["{cat}"]),
                  others={"asleep": asleep, "zombie": zombie})
        pass_gate(go)

        def hook():                 # preexec_fn: holds the child after the fork, before exec
            pass_gate(pre)
            fd = os.open(preexec_path, os.O_WRONLY | os.O_CREAT, 0o600)
            os.set_inheritable(fd, True)   # left open: only the closing of fds after preexec_fn ends it

        value = _call(student, ctx, me, argv, preexec_fn=hook)
        ctx.event("returned", value=_plain(value))
        pass_gate(finish)
    finally:
        if os.getpid() == me:
            end_other_children(asleep, zombie)
    os.dup2(saved_stdin, 0)
    for fd in (saved_stdin, stdin_w, inherited, high):
        if fd is not None:
            os.close(fd)
    del os.environ["PROCLAB_SPAWN_TOKEN"]
    os.chdir(home)
    _clear_children()

    # -- 2. the batch -------------------------------------------------------------------------
    with open(NOT_EXECUTABLE, "w") as f:
        f.write("#!/bin/sh\nexit 0\n")
    os.chmod(NOT_EXECUTABLE, 0o644)
    for index, case in enumerate(cases):
        argv = [tools.get(arg, arg) for arg in case["argv"]]
        report = {"index": index}
        kwargs = {"preexec_fn": _raiser(case["raise"])} if "raise" in case else {}
        path = os.environ.get("PATH")
        if "path_trap" in case:
            os.environ["PATH"] = _path_trap(ctx.tmp, argv[0])
        listed = set(os.listdir("."))
        if case.get("stop"):
            ctx.event("stopping", index=index)
        try:
            report["value"] = _plain(_call(student, ctx, me, argv, **kwargs))
        except NotImplementedError:
            raise
        except Exception as exc:  # noqa: BLE001 - reported for this call, the others still run
            report["raised"] = f"{type(exc).__name__}: {str(exc)[:200]}{_student_line(exc, student)}"
        finally:
            if path is not None:
                os.environ["PATH"] = path
        report["left"] = _left_behind()
        if case.get("core"):        # a core file lands in the current directory (core_pattern is a plain name)
            report["cores"] = sorted(set(os.listdir(".")) - listed)
            for name in report["cores"]:
                try:
                    os.unlink(name)
                except OSError:
                    pass
        if not case.get("stop"):
            _clear_children()
        ctx.event("case", **report)
        if case.get("stop"):
            pass_gate(case["cont"])    # the test has continued the program, if it was still stopped
            _settle()
    return {"cases": len(cases)}
