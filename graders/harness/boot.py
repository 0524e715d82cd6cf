"""The sandbox's side: started by sandbox.py as `python -S boot.py SPEC`, never imported by pytest.

It applies the limits, splits into a *warden* (waits for its child and reports how it ended)
and the *scenario process* (imports the student's file and runs a scenario, or runs the
student's program as __main__). The student's code therefore has the warden, not pytest, as
its parent. Results travel as signed frames on the private pipe named in SPEC; the signing key
arrives on another pipe, is read before any student code runs, and lives only in closures.

Where the grader runs as root, sandbox.py has already moved this process into its cgroups,
its own mount and IPC namespaces, and a separate unprivileged user (see identity.py).

Before the student's module is imported an audit hook is installed: reaching for the grader's
frames, objects, memory or result channel raises a *flag* (sent at once, signed), and so does
replacing a function of a module the scenario observes with.
"""

import builtins
import json
import os
import resource
import signal
import sys
import traceback

del sys.path[0]  # this directory: never let student code import harness modules by accident
sys.path.append(json.loads(sys.argv[1])["stage"])

from graders.harness import frames  # noqa: E402

SPEC = frames.loads(sys.argv[1])
STUDENT_FILE = SPEC["student_file"]
STUDENT_NAME = SPEC.get("student_name") or os.path.basename(STUDENT_FILE)

# Reaching into the grader's frames or objects: flagged when the student's own line does it.
_INTROSPECTION = {
    "sys._getframe": "called sys._getframe()",
    "sys._getframemodulename": "called sys._getframemodulename()",
    "sys._current_frames": "called sys._current_frames()",
    "sys.settrace": "installed a trace function (sys.settrace)",
    "sys.setprofile": "installed a profile function (sys.setprofile)",
    "gc.get_objects": "called gc.get_objects()",
    "gc.get_referrers": "called gc.get_referrers()",
    "gc.get_referents": "called gc.get_referents()",
    "sys.addaudithook": "added an audit hook",
    "ctypes.string_at": "read raw memory with ctypes.string_at",
    "ctypes.wstring_at": "read raw memory with ctypes.wstring_at",
}
_FRAME_ATTRIBUTES = {"tb_frame", "gi_frame", "cr_frame", "ag_frame", "f_back"}
# Stack walkers: inspect.stack(), inspect.currentframe(), traceback.walk_stack()... call sys._getframe
# for the student. A frame-getting call from these counts as the student's own when the student called them.
_STACK_WALKERS = ("/inspect.py", "/traceback.py")
_FRAME_GETTERS = {"sys._getframe", "sys._current_frames"}
_MEMORY_CALLS = {"ptrace", "process_vm_readv", "process_vm_writev"}
_WATCHED_MODULES = ("builtins", "os", "posix", "signal", "select", "time", "errno", "struct", "json",
                    "binascii", "hmac", "threading", "subprocess", "__main__", "graders.harness.frames",
                    "graders.harness.scenario", "graders.harness.osinspect")


def apply_limits(limits: dict) -> None:
    for name, value in limits.items():
        resource.setrlimit(getattr(resource, name), (value, value))


def warden(child: int, write) -> None:
    # The student may signal its parent or its whole process group: the warden must outlive
    # that to report how the child ended. SIGKILL still ends it.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
                   signal.SIGUSR2, signal.SIGALRM, signal.SIGPIPE):
        signal.signal(signum, signal.SIG_IGN)
    try:
        _, status = os.waitpid(child, 0)
    except ChildProcessError:
        status = None
    try:
        write({"kind": "exit", "status": status})
    except OSError:
        pass
    os._exit(0)


# --- the scenario process ---------------------------------------------------------------

def _no_breakpoint(*args, **kwargs):
    raise RuntimeError("breakpoint() was called: remove leftover breakpoint() calls before grading "
                       "(the grader cannot answer a debugger prompt)")


def _no_input(prompt=""):
    raise EOFError("input() was called: the grader gives your code no keyboard input "
                   "(stdin is /dev/null); remove input() calls")


def _student_line(tb) -> str:
    """'pipe_chain.py line 12, in run_pipeline' for the innermost frame in the student's file."""
    where = ""
    for frame in traceback.extract_tb(tb):
        if os.path.abspath(frame.filename) == STUDENT_FILE:
            where = f"{STUDENT_NAME} line {frame.lineno}, in {frame.name}"
    return where


def describe(exc: BaseException, during: str) -> tuple[str, str]:
    """(status, sentence) for an exception that left the student's code."""
    from graders.harness.scenario import Fail

    where = _student_line(exc.__traceback__)
    at = f" ({where})" if where else ""
    if isinstance(exc, Fail):
        return "fail", str(exc)
    if isinstance(exc, NotImplementedError):
        return "todo", f"NotImplementedError was raised{at}: this exercise is still to do"
    if isinstance(exc, SyntaxError):
        return "error", (f"{STUDENT_NAME} does not compile: {exc.msg} at line {exc.lineno}: "
                         "fix the syntax error first")
    if isinstance(exc, SystemExit):
        return "fail", (f"sys.exit({exc.code!r}) was called{at} {during}: "
                        "code under test must return, not end the interpreter")
    if isinstance(exc, KeyboardInterrupt):
        return "fail", (f"KeyboardInterrupt (SIGINT) arrived{at} {during}: "
                        "did your code send SIGINT to itself or its process group?")
    shown = str(exc)[:20000]
    text = f"{type(exc).__name__}: {shown}" if shown else type(exc).__name__
    if isinstance(exc, BlockingIOError):
        text += " (a fork failed: the sandbox's process budget is used up; is your code forking in a loop?)"
    if not where:
        return "fail", f"{text} {during} (raised in the grader's scenario, caused by what your code did or returned)"
    return "fail", f"{text}{at} {during}"


def install_audit_hook(write, result_fd: int) -> None:
    """Flag the student's code when it reaches for the grader's internals. Each kind is sent once."""
    getframe, fstat, stat = sys._getframe, os.fstat, os.stat
    result_ino = fstat(result_fd).st_ino
    sent: set[str] = set()
    busy = [False]

    def student_frame(anywhere: bool, through_walkers: bool = False):
        frame = getframe(2)
        if through_walkers:
            while frame is not None and frame.f_code.co_filename.endswith(_STACK_WALKERS):
                frame = frame.f_back
        while frame is not None:
            if frame.f_code.co_filename == STUDENT_FILE:
                return frame
            if not anywhere:
                return None
            frame = frame.f_back
        return None

    def flag(what: str, frame) -> None:
        if what in sent:
            return
        sent.add(what)
        where = f" at {STUDENT_NAME} line {frame.f_lineno}" if frame is not None else ""
        try:
            write({"kind": "flag", "sentence": f"your code {what}{where}: the grader's frames, objects, memory "
                                               "and result channel are off limits to code under test"})
        except OSError:
            pass

    def sensitive_path(path) -> str | None:
        if isinstance(path, bytes):
            path = path.decode(errors="replace")
        if not isinstance(path, str) or not path.startswith("/proc/"):
            return None
        parts = path.split("/")
        if len(parts) >= 4 and parts[3] == "mem":
            return f"opened {path} (another process's or its own raw memory)"
        if len(parts) >= 5 and parts[3] == "fd":
            try:
                if stat(path).st_ino == result_ino:
                    return f"opened {path}, the grader's private result pipe"
            except OSError:
                return None
        return None

    def hook(event: str, args) -> None:
        if busy[0]:
            return
        busy[0] = True
        try:
            if event in _INTROSPECTION:
                if event in ("sys.settrace", "sys.setprofile") and args and args[0] is None:
                    return
                frame = student_frame(anywhere=False, through_walkers=event in _FRAME_GETTERS)
                if frame is not None:
                    flag(_INTROSPECTION[event], frame)
            elif event == "object.__getattr__" and args[1] in _FRAME_ATTRIBUTES:
                frame = student_frame(anywhere=False)
                if frame is not None:
                    flag(f"read the .{args[1]} attribute (a way into the grader's frames)", frame)
            elif event == "object.__setattr__" and args[1] == "__code__":
                frame = student_frame(anywhere=False)
                if frame is not None:
                    flag("replaced a function's __code__", frame)
            elif event == "import" and str(args[0]).startswith(("graders", "proclab_scenario")):
                frame = student_frame(anywhere=False)
                if frame is not None:
                    flag(f"imported the grader's module {args[0]}", frame)
            elif event == "ctypes.dlsym" and str(args[1]) in _MEMORY_CALLS:
                frame = student_frame(anywhere=True)
                if frame is not None:
                    flag(f"looked up {args[1]}() through ctypes (tracing or reading other processes)", frame)
            elif event == "ctypes.dlsym" and str(args[1]).startswith(("Py", "_Py")):
                frame = student_frame(anywhere=True)
                if frame is not None:
                    flag(f"called the interpreter's C API ({args[1]}) through ctypes", frame)
            elif event == "open":
                what = sensitive_path(args[0])
                if what:
                    frame = student_frame(anywhere=True)
                    if frame is not None:
                        flag(what, frame)
        except Exception:  # noqa: BLE001 - the hook must never break the student's code
            pass
        finally:
            busy[0] = False

    sys.addaudithook(hook)


def module_guard(extra):
    """changed() -> the functions replaced since now in the modules the scenario observes with (and
    in EXTRA, the scenario's own module). The fingerprint is an immutable tuple held in a closure."""
    ident, modules = id, sys.modules
    watched = [(name, vars(modules[name])) for name in _WATCHED_MODULES if name in modules] + list(extra)
    fingerprint = tuple((name, space, tuple((k, ident(v)) for k, v in space.items() if callable(v)))
                        for name, space in watched)

    def changed() -> list[str]:
        found = []
        for name, space, attributes in fingerprint:
            found += [f"{name}.{k}" for k, before in attributes if ident(space.get(k)) != before]
        return found
    return changed


def import_student():
    import importlib.util

    spec = importlib.util.spec_from_file_location(SPEC["module_name"], STUDENT_FILE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[SPEC["module_name"]] = module
    spec.loader.exec_module(module)
    return module


def load_scenario():
    import importlib.util

    spec = importlib.util.spec_from_file_location("proclab_scenario", SPEC["scenario_file"])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, SPEC["scenario_name"])


class Context:
    def __init__(self, write):
        self.tmp = os.getcwd()
        self._write = write

    def event(self, name: str, **data) -> None:
        self._write({"kind": "event", "name": name, "data": data})


def run_scenario(write, context_type) -> None:
    me = os.getpid()
    frame = None
    changed = None
    try:
        scenario = load_scenario()
        changed = module_guard([("the scenario", scenario.__globals__)])
        try:
            student = import_student()
        except BaseException as exc:  # noqa: BLE001 - everything the student raises is reported
            status, message = describe(exc, f"while {STUDENT_NAME} was imported")
            frame = {"kind": "exception", "status": status, "message": message, "phase": "import"}
        else:
            try:
                value = scenario(student, context_type(write), **SPEC["kwargs"])
                frame = {"kind": "result", "value": value}
            except BaseException as exc:  # noqa: BLE001
                status, message = describe(exc, "while the grader's scenario ran")
                frame = {"kind": "exception", "status": status, "message": message, "phase": "run",
                         "traceback": traceback.format_exc(limit=-8)}
    finally:
        if os.getpid() == me and frame is not None:  # a fork that returned here stays silent
            try:
                replaced = changed() if changed else []
                if replaced:
                    write({"kind": "flag", "sentence": (
                        f"your code replaced {', '.join(replaced[:4])} while it was graded: code under test must "
                        "not patch the modules the grader observes with")})
                write(frame)
            except (OSError, TypeError, ValueError, RecursionError) as exc:
                try:
                    write({"kind": "exception", "status": "fail",
                           "message": f"the result could not be sent back: {exc}"})
                except OSError:
                    pass  # the student closed our pipe; the sandbox reports that
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(0)


def run_program() -> None:
    import runpy

    sys.argv = [STUDENT_FILE, *SPEC["argv"]]
    sys.path.insert(0, os.path.dirname(STUDENT_FILE))
    runpy.run_path(STUDENT_FILE, run_name="__main__")


def die_with_warden(warden_pid: int) -> None:
    """If the student's code kills its parent (the warden), the kernel kills it too. Otherwise it
    would be re-parented to pytest (the subreaper), and its next os.kill(os.getppid(), ...) would
    hit pytest itself."""
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != warden_pid:  # the warden died before prctl took effect
        os._exit(1)


def read_key(fd: int) -> bytes:
    key = b""
    while len(key) < frames.KEY_SIZE:
        chunk = os.read(fd, frames.KEY_SIZE - len(key))
        if not chunk:
            break
        key += chunk
    os.close(fd)
    return key


def main() -> None:
    import site

    site.setquit()  # started with -S (no site-packages to scan: faster); students may still call exit()
    result_fd = SPEC["result_fd"]
    write = frames.make_writer(result_fd, read_key(SPEC["key_fd"]))
    apply_limits(SPEC["limits"])
    warden_pid = os.getpid()
    child = os.fork()
    if child:
        warden(child, write)
    die_with_warden(warden_pid)
    os.set_inheritable(result_fd, False)
    write({"kind": "started", "pid": os.getpid()})
    sys.breakpointhook = _no_breakpoint
    builtins.input = _no_input
    install_audit_hook(write, result_fd)
    if SPEC["mode"] == "program":
        run_program()
    else:
        sys.path.insert(0, os.path.dirname(STUDENT_FILE))
        run_scenario(write, Context)


main()
