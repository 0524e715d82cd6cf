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
# Stack walkers call sys._getframe for the student. Those that hand frame objects back (not text or
# FrameSummary, as traceback.print_stack and extract_stack do) count as the student's own call.
_STACK_WALKERS = ("/inspect.py", "/traceback.py")
_FRAME_RETURNING = {"stack", "currentframe", "getouterframes", "trace", "getinnerframes", "walk_stack"}
_FRAME_GETTERS = {"sys._getframe", "sys._current_frames"}
# Code made under a trusted file's name would pass for the grader's own: flagged when the student does it.
_CODE_MAKERS = {"compile": "compiled code under the name of a grader or standard-library file",
                "code.__new__": "made a code object under the name of a grader or standard-library file",
                "marshal.loads": "loaded code with marshal",
                "marshal.load": "loaded code with marshal"}
_MEMORY_CALLS = {"ptrace", "process_vm_readv", "process_vm_writev"}
_WATCHED_MODULES = ("builtins", "os", "posix", "signal", "select", "time", "errno", "struct", "json",
                    "binascii", "hmac", "threading", "subprocess", "__main__", "graders.harness.frames",
                    "graders.harness.scenario", "graders.harness.osinspect")


def apply_limits(limits: dict) -> None:
    for name, value in limits.items():
        soft, hard = value if isinstance(value, list) else (value, value)
        resource.setrlimit(getattr(resource, name), (soft, hard))


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


def install_audit_hook(write, result_fd: int, trusted: tuple[str, ...]) -> None:
    """Flag the student's code when it reaches for the grader's internals. Each kind is sent once.

    Code is the grader's when it comes from a file under TRUSTED (the stage's harness and scenario
    folders, the interpreter's standard library); everything else is the student's: their file, a
    module they wrote and imported, code they compiled. Every table the hook reads is copied into
    this closure now, before the student's import, so patching boot's globals changes nothing."""
    getframe, fstat, stat = sys._getframe, os.fstat, os.stat
    result_ino = fstat(result_fd).st_ino
    student_file, student_name = STUDENT_FILE, STUDENT_NAME
    introspection, frame_attributes = dict(_INTROSPECTION), frozenset(_FRAME_ATTRIBUTES)
    memory_calls, walkers, returning = frozenset(_MEMORY_CALLS), _STACK_WALKERS, frozenset(_FRAME_RETURNING)
    getters, code_makers = frozenset(_FRAME_GETTERS), dict(_CODE_MAKERS)
    sent: set[str] = set()
    busy = [False]

    def untrusted(frame) -> bool:
        return not frame.f_code.co_filename.startswith(trusted)

    def student_frame(anywhere: bool, through_walkers: bool = False):
        """The student's frame behind this event (innermost; or anywhere on the stack), else None."""
        frame = getframe(2)
        if through_walkers:
            outermost = None
            while frame is not None and frame.f_code.co_filename.endswith(walkers) and not untrusted(frame):
                outermost, frame = frame, frame.f_back
            if outermost is not None and outermost.f_code.co_name not in returning:
                return None  # e.g. traceback.print_stack(): text, not frames
        while frame is not None:
            if untrusted(frame):
                return frame
            if not anywhere:
                return None
            frame = frame.f_back
        return None

    def flag(what: str, frame) -> None:
        if what in sent or len(sent) >= 20:
            return
        sent.add(what)
        name = frame.f_code.co_filename if frame is not None else ""
        shown = student_name if name == student_file else name
        where = f" at {shown} line {frame.f_lineno}" if frame is not None else ""
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

    fixed = {ord(c): 0 for c in "NFTS."}
    fixed.update({ord("i"): 4, ord("I"): 8, ord("g"): 8, ord("y"): 16, ord("r"): 4})
    lengths = {ord(c): 4 for c in "stuaA"}
    lengths.update({ord("z"): 1, ord("Z"): 1})
    counts = {ord("("): 4, ord("["): 4, ord("<"): 4, ord(">"): 4, ord(")"): 1}

    def holds_code(data) -> bool:
        """Whether a marshal stream may hold a code object (or cannot be read: then it may). Data of
        ints, strings, bytes and containers is no way around the hook; a code object is."""
        view = bytes(data)

        def walk(pos: int, depth: int) -> int:  # the end of the object at POS; -1: code or unreadable
            if depth > 200 or pos >= len(view):
                return -1
            kind = view[pos] & 0x7F
            pos += 1
            if kind in fixed:
                return pos + fixed[kind]
            if kind in lengths:
                size = lengths[kind]
                return pos + size + int.from_bytes(view[pos:pos + size], "little")
            if kind == ord("l"):
                return pos + 4 + 2 * abs(int.from_bytes(view[pos:pos + 4], "little", signed=True))
            if kind in (ord("f"), ord("x")):
                for _ in range(1 if kind == ord("f") else 2):
                    if pos >= len(view):
                        return -1
                    pos += 1 + view[pos]
                return pos
            if kind in counts:
                size = counts[kind]
                items = int.from_bytes(view[pos:pos + size], "little")
                pos += size
                for _ in range(items):
                    pos = walk(pos, depth + 1)
                    if pos < 0:
                        return -1
                return pos
            if kind == ord("{"):
                while pos < len(view) and view[pos] & 0x7F != ord("0"):
                    pos = walk(pos, depth + 1)
                    if pos < 0:
                        return -1
                    pos = walk(pos, depth + 1)
                    if pos < 0:
                        return -1
                return pos + 1
            return -1  # "c" (code), "0" out of place, or a kind this reader does not know

        try:
            return walk(0, 0) < 0
        except (TypeError, ValueError, IndexError, RecursionError):
            return True

    def hook(event: str, args) -> None:
        if busy[0]:
            return
        busy[0] = True
        try:
            if event in introspection:
                if event in ("sys.settrace", "sys.setprofile") and args and args[0] is None:
                    return
                frame = student_frame(anywhere=False, through_walkers=event in getters)
                if frame is not None:
                    walker = getframe(1)  # the frame that raised the event (this hook is frame 0)
                    while walker is not None and walker.f_back is not frame:
                        walker = walker.f_back
                    called = walker.f_code.co_name if walker is not None else ""
                    what = introspection[event]
                    if called and walker.f_code.co_filename.endswith(walkers):
                        what = f"called {walker.f_code.co_filename.rsplit('/', 1)[-1][:-3]}.{called}()"
                    flag(what, frame)
            elif event in code_makers:
                frame = student_frame(anywhere=False)
                name = args[1] if event in ("compile", "code.__new__") and len(args) > 1 else ""
                if event == "marshal.loads":
                    suspect = frame is not None and (not args or holds_code(args[0]))
                elif event == "marshal.load":  # from a file: the bytes are not shown to the hook
                    suspect = frame is not None
                else:
                    suspect = frame is not None and str(name).startswith(trusted)
                if suspect:
                    flag(f"{code_makers[event]} ({name})" if name else code_makers[event], frame)
            elif event == "object.__getattr__" and args[1] in frame_attributes:
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
            elif event == "ctypes.dlsym" and str(args[1]) in memory_calls:
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
    """changed() -> the functions replaced since now in the modules the scenario observes with, in the
    grader's own modules (and their classes' methods), and in EXTRA (the scenario's namespace). The
    fingerprint is an immutable tuple held in a closure."""
    ident, modules = id, sys.modules
    watched = [(name, vars(modules[name])) for name in _WATCHED_MODULES if name in modules] + list(extra)
    own = {"__main__", "the scenario"} | {n for n in _WATCHED_MODULES if n.startswith("graders.")}
    spaces = []
    for name, space in watched:
        spaces.append((name, space))
        if name in own:
            spaces += [(f"{name}.{k}", vars(v)) for k, v in list(space.items())
                       if isinstance(v, type) and v.__module__ == space.get("__name__")]
    fingerprint = tuple((name, space, tuple((k, ident(v)) for k, v in space.items() if callable(v)))
                        for name, space in spaces)

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


def make_context(write):
    """What a scenario gets as `ctx`: .tmp and .event(name, **data). Built from a closure, not a class
    whose methods could be patched to catch the writer."""
    import types

    def event(name: str, **data) -> None:
        write({"kind": "event", "name": name, "data": data})
    return types.SimpleNamespace(tmp=os.getcwd(), event=event)


def run_scenario(write, context) -> None:
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
                value = scenario(student, context, **SPEC["kwargs"])
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
    stdlib = os.path.dirname(os.__file__) + os.sep
    here = os.path.join(SPEC["stage"], "graders", "harness") + os.sep
    scenarios = os.path.join(SPEC["stage"], "scenarios") + os.sep
    install_audit_hook(write, result_fd, (here, scenarios, stdlib, "<frozen "))
    if SPEC["mode"] == "program":
        run_program()
    else:
        sys.path.insert(0, os.path.dirname(STUDENT_FILE))
        run_scenario(write, make_context(write))


main()
