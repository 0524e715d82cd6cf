"""Scenarios for pipe_chain: they run beside the student's run_pipeline in the sandbox.

Only data comes back; test_pipe_chain.py judges it and words the failures.
"""

import json
import os
import random
import sys
import threading
import time
import traceback

from graders.harness import osinspect

HERE = os.path.dirname(os.path.abspath(__file__))
GATE = os.path.join(HERE, "gate.py")
PACE = os.path.join(HERE, "pace.py")
RAN_ON = 99          # exit status of a forked child that came back into the caller's code


def _argv(argv, tmp):
    """Placeholders the tests cannot fill in: this interpreter, the helpers' paths, a file that
    exists but cannot be executed."""
    fill = {"{python}": sys.executable, "{pace}": PACE, "{gate}": GATE,
            "{nonexec}": os.path.join(tmp, "not-executable")}
    return [fill.get(arg, arg) for arg in argv]


def _where(tb, student) -> str:
    """'pipe_chain.py line 12, in run_pipeline' for the innermost frame in the student's file."""
    mine = os.path.abspath(getattr(student, "__file__", "") or "")
    where = ""
    for frame in traceback.extract_tb(tb):
        if os.path.abspath(frame.filename) == mine:
            where = f"{os.path.basename(mine)} line {frame.lineno}, in {frame.name}"
    return where


def _describe(exc, tb, student) -> str:
    where = _where(tb, student)
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return f"{text[:300]} ({where})" if where else text[:300]


def _shape(result):
    """The student's return value as JSON-friendly data, or a description of what is wrong with it."""
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        return {"bad": f"{type(result).__name__} {result!r:.120}"}
    out, codes = result
    if not isinstance(out, (bytes, bytearray)):
        return {"bad": f"a tuple whose output is {type(out).__name__} {out!r:.80}, not bytes"}
    if not isinstance(codes, (list, tuple)) or not all(isinstance(c, int) and not isinstance(c, bool)
                                                       for c in codes):
        return {"bad": f"a tuple whose return codes are {codes!r:.80}, not a list of int"}
    return {"out": bytes(out), "codes": list(codes)}


def _children(me):
    found = {}
    for pid in osinspect.children(me):
        try:
            with open(f"/proc/{pid}/comm") as f:
                name = f.read().strip()
            found[pid] = {"pid": pid, "state": osinspect.state(pid), "name": name}
        except (OSError, ProcessLookupError):
            pass
    return found


def _call(student, tmp, commands, data):
    """run_pipeline(commands, data) -> ('returned', value) or ('raised', description), plus what the
    threads it started raised and which forked children came back into this code instead of exec.

    A forked child that returns (or raises) out of run_pipeline runs the caller's code: it leaves a
    note for its parent and ends here, before it can run the rest of the scenario a second time."""
    me = os.getpid()
    thread_raised = []
    hook = threading.excepthook

    def record(args):
        if os.getpid() == me:
            thread_raised.append(f"thread {getattr(args.thread, 'name', '?')!r} raised "
                                 + _describe(args.exc_value or args.exc_type(), args.exc_traceback, student))
        hook(args)   # prints the traceback, as without the grader

    threading.excepthook = record
    try:
        try:
            outcome = ("returned", student.run_pipeline(commands, data))
        except NotImplementedError:
            raise
        except BaseException as exc:  # noqa: BLE001 - whatever left run_pipeline is reported
            if os.getpid() == me and not isinstance(exc, Exception):
                raise   # SystemExit, KeyboardInterrupt: the harness words those
            outcome = ("raised", _describe(exc, exc.__traceback__, student))
        if os.getpid() != me:
            how = ("returned from run_pipeline" if outcome[0] == "returned" else f"raised {outcome[1]}")
            try:
                with open(os.path.join(tmp, f"ran-on-{os.getpid()}"), "w") as f:
                    f.write(f"pid {os.getpid()} {how}")
            finally:
                os._exit(RAN_ON)
    finally:
        if os.getpid() == me:
            threading.excepthook = hook
    ran_on = []
    for name in sorted(os.listdir(tmp)):
        if name.startswith("ran-on-"):
            path = os.path.join(tmp, name)
            with open(path) as f:
                ran_on.append(f.read())
            os.unlink(path)
    return outcome, thread_raised, ran_on


def _input(case):
    if "random_input" in case:
        # A random block of an odd size, repeated: cheap to make, and a lost, doubled or swapped
        # 64 KiB chunk still shows.
        block = random.Random(20240501).randbytes((1 << 20) + 7)
        return (block * (case["random_input"] // len(block) + 1))[:case["random_input"]]
    if "input_repeat" in case:
        text, count = case["input_repeat"]
        return text.encode() * count
    return case.get("input", "").encode()


def _run_case(student, ctx, case) -> dict:
    """One call of run_pipeline, and what it left behind in this process."""
    me = os.getpid()
    commands = [_argv(argv, ctx.tmp) for argv in case["commands"]]
    data = _input(case)
    saved_stdin = None
    if "caller_stdin" in case:   # the caller's own stdin holds data: the commands must not read it
        r, w = os.pipe()
        os.write(w, case["caller_stdin"].encode())
        os.close(w)
        saved_stdin = os.dup(0)
        os.dup2(r, 0)
        os.close(r)
    fds_before = osinspect.fd_targets(me)
    children_before = _children(me)
    started = time.monotonic()
    try:
        (kind, value), thread_raised, ran_on = _call(student, ctx.tmp, commands, data)
        report = _shape(value) if kind == "returned" else {"raised": value}
        report["seconds"] = round(time.monotonic() - started, 3)
        fds_after = osinspect.fd_targets(me)
    finally:
        if saved_stdin is not None:
            os.dup2(saved_stdin, 0)
            os.close(saved_stdin)
    report["fds_left"] = {str(fd): target for fd, target in sorted(fds_after.items())
                          if fds_before.get(fd) != target}
    report["children_left"] = [child for pid, child in _children(me).items() if pid not in children_before]
    report["thread_raised"] = thread_raised
    report["ran_on"] = ran_on
    if "random_input" in case and "out" in report:
        out = report.pop("out")
        report["length"] = len(out)
        report["same"] = out == data
        if not report["same"]:
            report["first_difference"] = next(
                (i for i, (a, b) in enumerate(zip(out, data)) if a != b), min(len(out), len(data)))
    return report


def _make_nonexec(tmp):
    path = os.path.join(tmp, "not-executable")
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write("#!/bin/sh\necho this file has no execute permission\n")
        os.chmod(path, 0o644)


def _start_in_background(student, ctx, case):
    """Run one case in a grandchild (a fork of this process that its parent leaves at once): it calls
    run_pipeline while this process runs the other cases, and sends its report on a pipe. It is not
    a child of this process, so the student's code, here, never sees it among its children."""
    r, w = os.pipe()
    middle = os.fork()
    if middle == 0:
        try:
            os.close(r)
            if os.fork() == 0:
                try:
                    report = _run_case(student, ctx, case)
                except BaseException as exc:  # noqa: BLE001 - NotImplementedError, SystemExit...
                    report = {"raised": _describe(exc, exc.__traceback__, student), "fds_left": {},
                              "children_left": [], "thread_raised": [], "ran_on": []}
                if "out" in report:
                    report["out_latin1"] = report.pop("out").decode("latin-1")
                payload = json.dumps(dict(report, helper=os.getpid())).encode()
                view = memoryview(payload)
                while view:
                    view = view[os.write(w, view):]
        finally:
            os._exit(0)
    os.close(w)
    os.waitpid(middle, 0)
    return r


def _collect(r) -> dict:
    chunks = []
    while chunk := os.read(r, 65536):
        chunks.append(chunk)
    os.close(r)
    try:
        report = json.loads(b"".join(chunks))
    except ValueError:
        return {"raised": "the process that called run_pipeline ended before it returned", "fds_left": {},
                "children_left": [], "thread_raised": [], "ran_on": []}
    if "out_latin1" in report:
        report["out"] = report.pop("out_latin1").encode("latin-1")
    helper = report.pop("helper")
    end = time.monotonic() + 2.0     # gone from the sandbox before this scenario ends
    while time.monotonic() < end:
        try:
            if osinspect.state(helper) in ("Z", "X"):
                break
        except ProcessLookupError:
            break
        time.sleep(0.002)
    return report


def pipelines(student, ctx, cases, gate=None, exits=(), data=""):
    """Run each case; after each, report the result and what the call left behind in this process.

    With `gate`, first call run_pipeline over one copy of gate.py per exit gate in `exits` ('calling'
    event, then 'gated' with its result): the test holds the gates and looks from outside meanwhile.

    A case is {"commands": [[...], ...]} with "input": str, "input_repeat": [str, count] or
    "random_input": size (then the output is compared here, so megabytes never cross the result
    pipe), "caller_stdin": str (this process's own fd 0 holds it during the call), "background":
    true (run in a grandchild, at the same time as the others: for cases that take a while).
    Foreground cases are reported first, in order, then background ones, in order: one 'returned'
    event each carries out/codes (or bad, or raised; or same/length/first_difference for random
    input), seconds, fds_left {fd: target} (open now, not before the call), children_left [{pid,
    state, name}] (children of the caller that were not there before the call), thread_raised
    (exceptions that ended threads started by the call), ran_on (forked children that came back
    into the caller's code).
    """
    _make_nonexec(ctx.tmp)
    background = [(case, _start_in_background(student, ctx, case)) for case in cases if case.get("background")]
    if gate:
        # First, run_pipeline over copies of gate.py: the test holds the gates and looks from outside.
        commands = [[sys.executable, "-I", "-S", GATE, gate, path, f"command-{i}", str(i)]
                    for i, path in enumerate(exits, 1)]
        ctx.event("calling", commands=commands)
        ctx.event("gated", **_run_case(student, ctx, {"commands": commands, "input": data}))
    for case in cases:
        if not case.get("background"):
            ctx.event("returned", **_run_case(student, ctx, case))
    for _, r in background:
        ctx.event("returned", **_collect(r))
    return len(cases)
