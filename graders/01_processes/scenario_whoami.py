"""Scenario for whoami: it runs beside the student's report_ids(gate) in the sandbox.

The test (test_whoami.py) holds three FIFOs per call, made in the private folder: `go`, `gate`
and `finish`. Each blocks whoever reads it until the test closes its end (end-of-file):

1. the scenario opens `gate` (the fd it hands to report_ids), says `calling` and waits at `go`
   while the test reads its fd table from outside (what was open before the call);
2. it calls report_ids(gate): the child the student forks waits at `gate` until the test has
   looked at it in /proc and written the token into the FIFO, in two pieces;
3. it says `returned` with what report_ids returned, and waits at `finish` while the test
   looks again (is the child reaped? which fds did the call leave open?).

A forked child that comes back into this code (report_ids returned or raised in the child, not
only in the parent) is noted in the file `ran-on` of the private folder, read by the test, and
ends at once with the status it would have reached: it never runs the rest of the scenario.

Before the first call the scenario forks two children of its own, which report_ids must leave
alone: one asleep (in pause()) and one that has already exited, a zombie (waited for with
WNOWAIT, which reaps nothing): os.wait() would collect that one instead of report_ids's own
child. The scenario kills and reaps both after the last call.

Nothing here decides a verdict: the test does, from what /proc showed it.
"""

import os

from graders.harness.scenario import end_other_children, open_gate, other_children, pass_gate

RAN_ON = "ran-on"


def _ran_on(tmp: str, how: str, code: int) -> None:
    """In a forked child that came back: note it for the test, end at once (never run on)."""
    try:
        fd = os.open(os.path.join(tmp, RAN_ON), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.write(fd, f"pid {os.getpid()} (a child of pid {os.getppid()}) {how}\n".encode()[:400])
        os.close(fd)
    finally:
        os._exit(code)


def _plain(value):
    """What report_ids returned, in a form that crosses the result pipe and that the test can show."""
    if type(value) is not dict:
        return {"__type__": type(value).__name__, "__repr__": repr(value)[:200]}
    out = {}
    for key, item in list(dict.items(value))[:20]:
        name = key if type(key) is str else repr(key)
        out[name] = item if type(item) in (int, bytes, str) else {"__type__": type(item).__name__,
                                                                   "__repr__": repr(item)[:100]}
    return out


def calls(student, ctx, calls):
    me = os.getpid()
    asleep, zombie = other_children()
    try:
        for index, paths in enumerate(calls):
            gate = open_gate(paths["gate"])
            ctx.event("calling", index=index, gate_fd=gate, others={"asleep": asleep, "zombie": zombie})
            pass_gate(paths["go"])
            try:
                value = student.report_ids(gate)
            except BaseException as exc:
                if os.getpid() != me:
                    code = exc.code if isinstance(exc, SystemExit) and isinstance(exc.code, int) else 1
                    _ran_on(ctx.tmp, f"raised {type(exc).__name__}({str(exc)[:80]!r}) out of report_ids "
                                     "into the caller's code", code)
                raise
            if os.getpid() != me:
                _ran_on(ctx.tmp, f"returned {value!r:.100} from report_ids into the caller's code", 0)
            ctx.event("returned", index=index, value=_plain(value))
            pass_gate(paths["finish"])
            try:
                os.close(gate)
            except OSError:
                pass  # report_ids closed it: the test has seen that already
    finally:
        if os.getpid() == me:
            end_other_children(asleep, zombie)
    return {"calls": len(calls)}
