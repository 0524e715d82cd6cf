"""Scenarios for pipe_chain: they run beside the student's run_pipeline in the sandbox.

Only data comes back; test_pipe_chain.py judges it and words the failures.
"""

import os
import random
import sys
import time

from graders.harness import osinspect

GATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gate.py")


def _argv(argv):
    """'{python}' in a command stands for this interpreter (the tests do not know its path)."""
    return [sys.executable if arg == "{python}" else arg for arg in argv]


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


def gated(student, ctx, gate, n, data):
    """run_pipeline over n copies of gate.py; the test holds the gate and looks from outside."""
    commands = [[sys.executable, "-I", "-S", GATE, gate, f"command-{i}"] for i in range(1, n + 1)]
    ctx.event("calling", commands=commands)
    return _shape(student.run_pipeline(commands, data.encode()))


def pipelines(student, ctx, cases):
    """Run each case; after each, report the result and what the call left behind in this process.

    A case is {"commands": [[...], ...], "input": str} or, for volume, {"commands": ...,
    "random_input": size}: then the output is compared here, so megabytes never cross the
    result pipe. After every call one 'returned' event carries: out/codes (or bad, or raised;
    or same/length/first_difference for random input), seconds, fds_left {fd: target} (open
    now, not before the call), children_left [{pid, state, name}] (children of this process
    that were not there before the call).
    """
    me = os.getpid()
    for case in cases:
        commands = [_argv(argv) for argv in case["commands"]]
        if "random_input" in case:
            # A random block of an odd size, repeated: cheap to make, and a lost, doubled or
            # swapped 64 KiB chunk still shows.
            block = random.Random(20240501).randbytes((1 << 20) + 7)
            data = (block * (case["random_input"] // len(block) + 1))[:case["random_input"]]
        else:
            data = case.get("input", "").encode()
        fds_before = osinspect.fd_targets(me)
        children_before = _children(me)
        started = time.monotonic()
        try:
            report = _shape(student.run_pipeline(commands, data))
        except OSError as exc:  # e.g. FileNotFoundError for a missing command: the tests explain
            report = {"raised": f"{type(exc).__name__}: {exc}"}
        report["seconds"] = round(time.monotonic() - started, 3)
        fds_after = osinspect.fd_targets(me)
        report["fds_left"] = {str(fd): target for fd, target in sorted(fds_after.items())
                              if fds_before.get(fd) != target}
        report["children_left"] = [child for pid, child in _children(me).items()
                                   if pid not in children_before]
        if "random_input" in case and "out" in report:
            out = report.pop("out")
            report["length"] = len(out)
            report["same"] = out == data
            if not report["same"]:
                report["first_difference"] = next(
                    (i for i, (a, b) in enumerate(zip(out, data)) if a != b), min(len(out), len(data)))
        ctx.event("returned", **report)
    return len(cases)
