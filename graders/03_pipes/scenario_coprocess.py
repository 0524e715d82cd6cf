"""Scenarios for coprocess: they run beside the student's ask_all in the sandbox.

Each case starts coprocess_child.py (through the student's ask_all) in one of its modes. Before and
after each call the scenario stops at a handshake, so that the test can read /proc from outside
while nothing moves: `step` events (what="calling", then what="returned"), each answered by one
byte on the control FIFO the test holds. Only data comes back; test_coprocess.py judges it, except
for the big cases (whose answers are compared here, so that a megabyte never crosses the result
pipe).
"""

import os
import random
import sys
import threading
import traceback

from graders.harness.scenario import Fail

HERE = os.path.dirname(os.path.abspath(__file__))
CHILD = os.path.join(HERE, "coprocess_child.py")
RAN_ON = 99          # exit status of a forked child that came back into the caller's code
ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789 .,;:!?-匿名管道命名管道信号缓冲读取器协同进程"
WIDE = "管道信号进程读写"   # every question holds at least one multi-byte character
# Questions whose answers (reversed) hold what only "\n" may not: a CR at the end and inside, spaces and a
# tab at the end, the characters str.splitlines() also cuts at (U+2028, U+2029, NEL, FS, GS, RS, VT, FF),
# and an empty question. A "hard" case holds every one of them, at drawn places.
HARD = [" 两 spaces  and a tab\t", "\rCR 在 the end", "cr\r在inside\r", "line\u2028sep 管\u2029par",
        "nel\x85fs\x1cgs\x1d",
        "rs\x1evt\x0bff\x0c道", "", "  trailing  spaces 管"]


def questions(seed: int, count: int, width: int, hard: bool = False) -> list[str]:
    """The questions of a case: random, printable, no newline, at least one multi-byte character (and, in a
    hard case, every question of HARD among them)."""
    rng = random.Random(seed)
    count -= len(HARD) if hard else 0
    text = "".join(rng.choices(ALPHABET, k=min(4096, count * width) + width))   # each question: a drawn slice
    drawn = []
    for _ in range(count):
        size = rng.randint(max(1, width // 2), width)
        start = rng.randrange(len(text) - size)
        at = rng.randint(0, size)
        drawn.append(text[start:start + at] + rng.choice(WIDE) + text[start + at:start + size])
    if hard:
        for question in HARD:
            drawn.insert(rng.randint(0, len(drawn)), question)
    return drawn


def padding(n: int, pad) -> int:
    """The '~' padding of answer n: pad is 0, or [P, L, E] (L when n % E == 1), as coprocess_child.py does."""
    if not pad:
        return 0
    pad, long, every = pad
    return long if n % every == 1 else pad


def answer(n: int, question: str, pad=0) -> str:
    """What coprocess_child.py answers to the n-th line (n from 1), without the newline."""
    return f"{n}:{question[::-1]}" + "~" * padding(n, pad)


def _open_control(path: str) -> int:
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    os.set_blocking(fd, True)
    return fd


def _await(fd: int) -> None:
    if not os.read(fd, 1):
        raise Fail("the grader stopped the conversation (its control FIFO closed)")


def _where(tb, student) -> str:
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


def _call(student, tmp, argv, asked):
    """ask_all(argv, asked) -> ('returned', value) or ('raised', exception), the exceptions that ended
    threads it started, notes of forked children that came back into this code instead of exec, and
    the names of threads it started that were still alive when it returned."""
    me = os.getpid()
    thread_raised = []
    hook = threading.excepthook

    def record(args):
        if os.getpid() == me:
            thread_raised.append(f"thread {getattr(args.thread, 'name', '?')!r} raised "
                                 + _describe(args.exc_value or args.exc_type(), args.exc_traceback, student))
        hook(args)

    threading.excepthook = record
    before = set(threading.enumerate())
    try:
        try:
            outcome = ("returned", student.ask_all(list(argv), list(asked)))
        except NotImplementedError:
            raise
        except BaseException as exc:  # noqa: BLE001 - whatever left ask_all is reported
            if os.getpid() == me and not isinstance(exc, Exception):
                raise   # SystemExit, KeyboardInterrupt: the harness words those
            outcome = ("raised", exc)
        if os.getpid() != me:
            try:
                with open(os.path.join(tmp, f"ran-on-{os.getpid()}"), "w") as f:
                    f.write(f"pid {os.getpid()} " + ("returned from ask_all" if outcome[0] == "returned"
                                                     else f"raised {type(outcome[1]).__name__}"))
            finally:
                os._exit(RAN_ON)
    finally:
        if os.getpid() == me:
            threading.excepthook = hook
    alive = [thread.name for thread in threading.enumerate() if thread not in before and thread.is_alive()]
    ran_on = []
    for name in sorted(os.listdir(tmp)):
        if name.startswith("ran-on-"):
            with open(os.path.join(tmp, name)) as f:
                ran_on.append(f.read())
            os.unlink(os.path.join(tmp, name))
    return outcome, thread_raised, ran_on, alive


def _report(student, case, asked, outcome) -> dict:
    kind, value = outcome
    if kind == "raised":
        return {"raised": _describe(value, value.__traceback__, student), "raised_type": type(value).__name__,
                "child_error": isinstance(value, ChildProcessError)}
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        return {"bad": f"{type(value).__name__} {value!r:.120}"}
    answers, code = value
    if not isinstance(answers, list) or not all(isinstance(a, str) for a in answers):
        return {"bad": f"a tuple whose answers are {type(answers).__name__} {answers!r:.100}, not a list of str"}
    if type(code) is not int:
        return {"bad": f"a tuple whose return code is {type(code).__name__} {code!r:.40}, not an int"}
    report = {"code": code, "count": len(answers)}
    if not case.get("big"):
        report["answers"] = answers
        return report
    expected = [answer(n, q, case.get("pad", 0)) for n, q in enumerate(asked, 1)]
    report["same"] = answers == expected
    if not report["same"]:
        i = next((i for i, (a, b) in enumerate(zip(answers, expected)) if a != b), min(len(answers), len(expected)))
        report["first_difference"] = i
        report["got"] = answers[i][:120] if i < len(answers) else None
        report["expected"] = expected[i][:120] if i < len(expected) else None
        report["got_length"] = len(answers[i]) if i < len(answers) else None
        report["expected_length"] = len(expected[i]) if i < len(expected) else None
        report["prefix"] = i < len(answers) and i < len(expected) and expected[i].startswith(answers[i])
    return report


def conversations(student, ctx, cases, control):
    """Call ask_all once per case. A case is {"name", "mode": [...] (coprocess_child.py's MODE and ARGs),
    "end" (its END), "seed", "count", "width", "pad", "big"}. For each: a `step` event what="calling"
    (argv, state file), a byte from the control FIFO, the call, a `step` event what="returned" (the
    report), a byte from the control FIFO."""
    ack = _open_control(control)
    try:
        for case in cases:
            asked = questions(case["seed"], case["count"], case["width"], case.get("hard", False))
            state = os.path.join(ctx.tmp, f"child-{case['name']}.state")
            argv = case.get("argv") or [sys.executable, "-I", "-S", CHILD, state, case.get("end", "0"), *case["mode"]]
            ctx.event("step", what="calling", case=case["name"], argv=argv, state=state)
            _await(ack)
            outcome, thread_raised, ran_on, alive = _call(student, ctx.tmp, argv, asked)
            report = _report(student, case, asked, outcome)
            ctx.event("step", what="returned", case=case["name"], thread_raised=thread_raised, ran_on=ran_on,
                      threads_alive=alive, **report)
            _await(ack)
    finally:
        os.close(ack)
    return len(cases)
