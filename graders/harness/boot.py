"""The sandbox's side: started by sandbox.py as `python boot.py SPEC`, never imported by pytest.

It applies the limits, splits into a *warden* (waits for its child and reports how it ended)
and the *scenario process* (imports the student's file and runs a scenario, or runs the
student's program as __main__). The student's code therefore has the warden, not pytest, as
its parent. Results travel as frames on the private pipe named in SPEC.
"""

import builtins
import json
import os
import resource
import signal
import sys
import traceback

del sys.path[0]  # this directory: never let student code import harness modules by accident
sys.path.append(json.loads(sys.argv[1])["repo"])

from graders.harness.frames import loads, write_frame  # noqa: E402

SPEC = loads(sys.argv[1])

RESULT_FD = SPEC["result_fd"]
STUDENT_FILE = SPEC["student_file"]
STUDENT_NAME = os.path.basename(STUDENT_FILE)


def apply_limits(limits: dict) -> None:
    for name, value in limits.items():
        resource.setrlimit(getattr(resource, name), (value, value))
    if SPEC.get("cgroup"):
        try:
            with open(os.path.join(SPEC["cgroup"], "cgroup.procs"), "w") as f:
                f.write(str(os.getpid()))
        except OSError:
            pass  # the watchdog in sandbox.py still enforces the budget


def warden(child: int) -> None:
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
        write_frame(RESULT_FD, {"kind": "exit", "status": status})
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
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, BlockingIOError):
        text += " (a fork failed: the sandbox's process budget is used up; is your code forking in a loop?)"
    if not where:
        return "fail", f"{text} {during} (raised in the grader's scenario, caused by what your code did or returned)"
    return "fail", f"{text}{at} {during}"


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
    def __init__(self):
        self.tmp = os.getcwd()

    def event(self, name: str, **data) -> None:
        write_frame(RESULT_FD, {"kind": "event", "name": name, "data": data})


def run_scenario() -> None:
    me = os.getpid()
    frame = None
    try:
        scenario = load_scenario()
        try:
            student = import_student()
        except BaseException as exc:  # noqa: BLE001 - everything the student raises is reported
            status, message = describe(exc, f"while {STUDENT_NAME} was imported")
            frame = {"kind": "exception", "status": status, "message": message, "phase": "import"}
        else:
            try:
                value = scenario(student, Context(), **SPEC["kwargs"])
                frame = {"kind": "result", "value": value}
            except BaseException as exc:  # noqa: BLE001
                status, message = describe(exc, "while the grader's scenario ran")
                frame = {"kind": "exception", "status": status, "message": message, "phase": "run",
                         "traceback": traceback.format_exc(limit=-8)}
    finally:
        if os.getpid() == me and frame is not None:  # a fork that returned here stays silent
            try:
                write_frame(RESULT_FD, frame)
            except (OSError, TypeError) as exc:
                try:
                    write_frame(RESULT_FD, {"kind": "exception", "status": "fail",
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

    os.close(RESULT_FD)
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


def main() -> None:
    import site

    site.setquit()  # started with -S (no site-packages to scan: faster); students may still call exit()
    apply_limits(SPEC["limits"])
    warden_pid = os.getpid()
    child = os.fork()
    if child:
        warden(child)
    die_with_warden(warden_pid)
    os.set_inheritable(RESULT_FD, False)
    write_frame(RESULT_FD, {"kind": "started", "pid": os.getpid()})
    sys.breakpointhook = _no_breakpoint
    builtins.input = _no_input
    if SPEC["mode"] == "program":
        run_program()
    else:
        sys.path.insert(0, os.path.dirname(STUDENT_FILE))
        run_scenario()


main()
