"""Grader for exercises/01_processes/fork_cow.py (contract: its docstring and CONTRACT-fork_cow.md).

One sandbox launch feeds every test. The scenario (scenario_fork_cow.py) calls cow_fork with a size,
fill byte, offsets and mark drawn afresh for this run, and a checkpoint that the child calls twice.
Each call reports the child's pid and the buffer's address, then blocks on a gate (a FIFO this side
holds open): while the child waits there and the parent sleeps in its wait for the child, this side
reads, from outside, /proc/PID/pagemap (one 64-bit entry per page: bit 63 present, 56 mapped by
this process only, 61 file or shared memory) and /proc/PID/smaps_rollup of both processes. Then
it opens the gate. After cow_fork returns, one more gate, while this side looks for the child in
/proc: it must be gone (reaped). No sleep orders anything; every wait has a deadline.
"""

import os
import random
import signal
import struct
import time

from graders.harness import holding, osinspect
from graders.harness.outcome import Failure

PAGE = os.sysconf("SC_PAGE_SIZE")
KIB = 1024
PARENT_WAIT_DEADLINE = 0.5   # for the parent to be asleep in its wait before we look (it is in ms)
PRESENT, SWAPPED, FILE, EXCLUSIVE = 1 << 63, 1 << 62, 1 << 61, 1 << 56
# smaps_rollup: how much more than the pages it wrote the child may make private between its two checkpoints.
# Python's own work in the child (the scenario's code, the event it sends) dirtied 12-28 KiB more in 15 runs
# (its Private_Dirty right after fork: 876-912 KiB); a child that writes every page or copies the buffer adds the
# whole buffer, 8 MiB or more. 2 MiB lies far from both.
ROLLUP_SLACK_KIB = 2048


def _plan() -> dict:
    """A case of its own for every run: a result made up in advance, or replayed, does not fit."""
    mib = random.randrange(8, 33)
    size = mib << 20
    pages = size // PAGE
    chosen = sorted(random.sample(range(2, pages - 2), random.randrange(24, 65)))
    fill = random.randrange(1, 256)
    mark = random.choice([b for b in range(256) if b != fill])
    return {"size": size, "fill": fill, "mark": mark,
            "offsets": [p * PAGE + random.randrange(PAGE) for p in chosen]}





def _pages(pid: int, address: int, nbytes: int) -> dict:
    """The pages lying wholly inside [address, address + nbytes), as pagemap shows them for pid."""
    first = -(-address // PAGE)
    end = (address + nbytes) // PAGE
    with open(f"/proc/{pid}/pagemap", "rb") as f:
        f.seek(first * 8)
        data = f.read((end - first) * 8)
    entries = [e for (e,) in struct.iter_unpack("<Q", data)]
    return {
        "first": first,
        "n": len(entries),
        "present": sum(1 for e in entries if e & (PRESENT | SWAPPED)),
        "file": sum(1 for e in entries if e & PRESENT and e & FILE),
        "own": [first + i for i, e in enumerate(entries) if e & PRESENT and e & EXCLUSIVE and not e & FILE],
    }


def _rollup(pid: int) -> dict:
    fields = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            key, _, value = line.partition(":")
            if value.strip().endswith("kB"):
                fields[key] = int(value.split()[0])
    return fields


def _look(cp: dict) -> dict:
    """Both processes, from outside, while the child waits in checkpoint and the parent in its wait."""
    child, parent = cp["pid"], cp["caller"]
    deadline = time.monotonic() + PARENT_WAIT_DEADLINE
    while not osinspect.in_wait(parent) and time.monotonic() < deadline:
        time.sleep(0.002)
    view = {"parent_waiting": osinspect.in_wait(parent)}
    try:
        view["child_ppid"] = osinspect.ppid(child)
        view["child_state"] = osinspect.state(child)
    except ProcessLookupError:
        view["child_ppid"] = view["child_state"] = None
    if cp.get("address") is None:
        return view
    for who, pid in (("child", child), ("parent", parent)):
        try:
            view[f"{who}_pages"] = _pages(pid, cp["address"], cp["nbytes"])
            view[f"{who}_rollup"] = _rollup(pid)
        except (OSError, ProcessLookupError) as exc:
            view[f"{who}_error"] = f"{type(exc).__name__}: {exc}"
    return view


# -- ptrace: hold the child at the start of its exit, from outside (as test_whoami.py does) ----------------

EXIT_DEADLINE = 3.0      # after the "written" gate: for the child to reach its exit


def _at_exit(hold: holding.ExitHold, cp: dict, plan: dict) -> dict:
    """Wait for the child's exit; while it is held there, read the bytes at the offsets from /proc/PID/mem."""
    deadline = time.monotonic() + EXIT_DEADLINE
    while not hold.poll() and time.monotonic() < deadline:
        time.sleep(0.002)
    found = {"reached": hold.held or hold.status is not None, "held": hold.held, "status": hold.status}
    if hold.held and cp.get("address") is not None:
        try:
            with open(f"/proc/{hold.pid}/mem", "rb", buffering=0) as mem:
                wrong = []
                for off in plan["offsets"]:
                    mem.seek(cp["address"] + off)
                    byte = mem.read(1)
                    if byte and byte[0] != plan["mark"]:
                        wrong.append((off, byte[0]))
                found["not_marked"] = wrong
        except OSError as exc:
            found["mem_error"] = str(exc)
    return found


_RUNS: dict = {}


def _observe(exercise) -> dict:
    """The one launch, shared by every test of a graded file: what each stage showed, and the first
    failure that stopped it (a timeout, an exception from cow_fork...)."""
    key = getattr(exercise, "student_file", None)
    if key in _RUNS:
        return _RUNS[key]
    plan = _plan()
    seen: dict = {"plan": plan}
    gates = [holding.Gate(exercise.tmp, name) for name in ("forked", "written", "returned")]
    hold = None
    try:
        with exercise.start("cow", gates=[g.path for g in gates], **plan) as run:
            for stage, gate in zip(("forked", "written"), gates):
                cp = run.event("checkpoint", awaiting=(
                    f"the child to call checkpoint({stage!r}, buf)" + (
                        " right after fork" if stage == "forked" else " after writing its bytes")
                    + " (or cow_fork to return)"))
                seen[stage] = cp
                if not cp.get("missing"):
                    seen[f"{stage}_view"] = _look(cp)
                    if stage == "written" and cp.get("pid"):
                        hold = holding.ExitHold(cp["pid"])
                gate.release()
                if hold is not None and stage == "written":
                    seen["exit"] = _at_exit(hold, cp, plan) if hold.attached else {"error": hold.error}
                    hold.release()
            seen["returned"] = run.event("returned", awaiting=(
                "cow_fork to return once its child had called checkpoint('written', buf) and exited"))
            seen["after"] = {}
            for stage in ("forked", "written"):
                pid = seen[stage].get("pid")
                if pid:
                    try:   # a pid taken again by some other process meanwhile is not the child
                        mine = osinspect.ppid(pid) == seen[stage]["caller"]
                        seen["after"][pid] = osinspect.state(pid) if mine else None
                    except ProcessLookupError:
                        seen["after"][pid] = None
            gates[2].release()
            run.result(awaiting="the scenario to finish")
    except Failure as exc:   # a timeout, or the process running cow_fork raised or died
        seen["error"] = exc
    finally:
        if hold is not None:
            hold.release()
        for gate in gates:
            gate.release()
    _RUNS[key] = seen
    return seen


def _need(seen: dict, *parts: str) -> None:
    """Raise the failure that stopped the launch before it got as far as PARTS."""
    if any(part not in seen for part in parts):
        raise seen.get("error") or AssertionError("the grader lost track of the scenario: please report this")


def _messages(seen: dict, key: str) -> list:
    return [m for m in seen["returned"]["messages"] if key in m]


def _mib(nbytes: int) -> str:
    return f"{nbytes / (1 << 20):.0f} MiB"


def _where(seen: dict) -> str:
    plan = seen["plan"]
    return (f"(buffer of {_mib(plan['size'])} = {plan['size'] // PAGE} pages of {PAGE} bytes, "
            f"fill {plan['fill']:#04x}; "
            f"the child was to write {plan['mark']:#04x} at {len(plan['offsets'])} offsets, each in another page)")


def _expected_own(seen: dict, address: int) -> set:
    return {(address + off) // PAGE for off in seen["plan"]["offsets"]}


def _copied_in_child(seen: dict) -> bool:
    """The buffer the child passed to checkpoint('forked', buf) is not the parent's: it was made after fork (a copy).
    Seen from outside: at that address the parent has no page of it, while every page is the child's alone."""
    cp, view = seen.get("forked", {}), seen.get("forked_view", {})
    if cp.get("missing") or "child_pages" not in view:
        return False
    child, parent = view["child_pages"], view["parent_pages"]
    return child["n"] > 0 and len(child["own"]) == child["n"] and parent["present"] < parent["n"]


def _shared_memory(view: dict) -> bool:
    return bool(view.get("parent_pages", {}).get("file"))


# ------------------------------------------------------------------ the calls


def _check_stage_called(seen: dict, stage: str) -> None:
    cp = seen[stage]
    plan = seen["plan"]
    if cp.get("missing"):
        in_parent = cp.get("in_parent") or []
        if in_parent:
            raise AssertionError(
                f"checkpoint({in_parent[0]}, buf) was called in the process that called cow_fork (pid "
                f"{cp['caller']}), not in a child: a thread or a plain function call shares the caller's memory. "
                f"Make the child with pid = os.fork(); the code under `if pid == 0:` runs in the child, which must "
                f"call checkpoint")
        if seen["returned"]["forks"] == 0:
            raise AssertionError(
                "cow_fork returned without calling os.fork() (and no child ever called checkpoint): the exercise "
                "is about the child that os.fork() makes, which starts with a copy-on-write view of the "
                "parent's memory")
        bad = _messages(seen, "bad_call") + _messages(seen, "out_of_order") + _messages(seen, "again")
        if bad:
            m = bad[0]
            if "bad_call" in m:
                how = f"it called {m['bad_call']}: call checkpoint('forked', buf) and checkpoint('written', buf)"
            elif "out_of_order" in m:
                how = "it called checkpoint('written', buf) before checkpoint('forked', buf)"
            else:
                how = f"it called checkpoint({m['again']!r}, buf) more than once"
            raise AssertionError(f"the child (pid {m['pid']}) never made the call checkpoint({stage!r}, buf) the "
                                 f"grader waited for: {how}")
        escaped = _messages(seen, "escaped") + _messages(seen, "returned_into_caller")
        tail = ""
        if escaped:
            m = escaped[0]
            tail = (f"; the child (pid {m['pid']}) left cow_fork by " +
                    (f"raising {m['escaped']}" if "escaped" in m else "returning") + " before that")
        raise AssertionError(
            f"no child called checkpoint({stage!r}, buf) {_where(seen)}{tail}: "
            + ("right after fork, the child calls checkpoint('forked', buf)" if stage == "forked" else
               "after its writes, the child calls checkpoint('written', buf), then os._exit(0)"))
    assert plan  # the plan was this run's own (sent with the launch)
    if cp["where"] != "child":
        raise AssertionError(
            f"checkpoint({stage!r}, buf) was called by pid {cp['pid']}, whose parent is pid {cp['ppid']}, not the "
            f"process that called cow_fork (pid {cp['caller']}): a grandchild. Fork once, and call checkpoint in "
            f"that child")
    view = seen[f"{stage}_view"]
    if view.get("child_ppid") is not None:
        assert view["child_ppid"] == cp["caller"], (
            f"/proc/{cp['pid']}/stat says the parent of the process that called checkpoint({stage!r}, buf) is "
            f"pid {view['child_ppid']}, not the process that called cow_fork (pid {cp['caller']})")


def test_one_child_is_forked_and_calls_checkpoint_forked_then_written(exercise):
    seen = _observe(exercise)
    _need(seen, "forked", "written", "returned")
    _check_stage_called(seen, "forked")
    _check_stage_called(seen, "written")
    forks = seen["returned"]["forks"]
    assert forks == 1, (
        f"cow_fork called os.fork() {forks} times: fork exactly one child, which does the writing; every "
        "fork copies the page tables of the whole process")
    twice = _messages(seen, "again")
    assert not twice, (
        f"the child (pid {twice[0]['pid'] if twice else 0}) called checkpoint({twice[0]['again'] if twice else ''!r}"
        ", buf) more than once: call each stage once")


def test_the_child_ends_with_os_exit_and_never_returns_into_the_caller(exercise):
    seen = _observe(exercise)
    _need(seen, "returned")
    escaped = _messages(seen, "escaped")
    assert not escaped, (
        f"the child (pid {escaped[0]['pid'] if escaped else 0}) raised "
        f"{escaped[0]['escaped'] if escaped else ''} out of cow_fork, into the caller's code: a forked child is a "
        "copy of the whole program, so an exception or a sys.exit() there runs the caller's except and finally "
        "blocks a second time, in the child. End the child with os._exit(0) (in a finally block)")
    returned = _messages(seen, "returned_into_caller")
    assert not returned, (
        f"the child (pid {returned[0]['pid'] if returned else 0}) returned from cow_fork into the caller's code: "
        "after fork, both processes run the same program, and a child that returns goes on running the "
        "parent's program. End the child with os._exit(0) once checkpoint('written', buf) has returned")
    hung = seen["returned"]["hung"]
    assert not hung, (
        "a child of cow_fork was still running 4 s after cow_fork had returned: once "
        "checkpoint('written', buf) returns, the child must end at once with os._exit(0)")
    end = seen.get("exit")
    if end and end.get("reached") and end.get("status") is not None:
        status, pid = end["status"], seen["written"]["pid"]
        if os.WIFSIGNALED(status):
            try:
                name = signal.Signals(os.WTERMSIG(status)).name
            except ValueError:
                name = f"signal {os.WTERMSIG(status)}"
            raise AssertionError(
                f"the child (pid {pid}) was killed by {name} (seen from outside, with ptrace, at its exit): end the "
                "child with os._exit(0), not with a signal")
        code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else status
        assert code == 0, (
            f"the child (pid {pid}) ended with exit status {code} (seen from outside, with ptrace, at its exit): "
            "end the child with os._exit(0), status 0, the sign that all went well")


def test_the_child_ends_with_os_exit_even_when_checkpoint_raises(exercise):
    seen = _observe(exercise)
    _need(seen, "returned")
    for case in seen["returned"].get("raising") or []:
        stage, kind = case["stage"], case["kind"]
        if stage not in case["called"]:
            continue   # the child never got there: the tests of the first call say why
        how = (f"in another call, the grader's checkpoint raised {kind} in the child at checkpoint({stage!r}, buf)"
               + (" (a BaseException, not an Exception: Ctrl-C or a sys.exit() deep in some callee)"
                  if kind != "RuntimeError" else ""))
        if case["escaped"]:
            raise AssertionError(
                f"{how}, and the child let it come up out of cow_fork into the caller's code ({case['escaped'][0]}): "
                "a forked child is a copy of the whole program, so from there it runs the caller's except and "
                "finally blocks, and the rest of the caller's program, a second time. Whatever the child runs can "
                "raise: put its work in try: ... finally: os._exit(...), so that it ends there whatever happens "
                "(`except Exception` does not catch KeyboardInterrupt or SystemExit; finally does)")
        assert not case["returned_into_caller"], (
            f"{how}, and the child then returned from cow_fork into the caller's code: end the child with "
            "os._exit(...) in a finally block, so that it never leaves cow_fork")


def test_the_parent_waits_for_its_own_child_not_for_any_child(exercise):
    seen = _observe(exercise)
    _need(seen, "returned")
    case = seen["returned"].get("other_zombie") or {}
    if not case.get("other_was_zombie") or "error" in case:
        return   # the grader's zombie never formed, or cow_fork raised: the tests of the first call say why
    other = case["other"]
    if case.get("other_after") == "reaped":
        raise AssertionError(
            f"in another call, the caller already had a child of its own, pid {other}, exited but not yet reaped (a "
            f"zombie, state Z in /proc/{other}/stat), and when cow_fork returned that zombie was gone: cow_fork "
            "reaped it. os.wait() (or os.waitpid(-1, 0)) collects whichever child of the process ended first, "
            "here the caller's own, which the caller may still mean to wait for (its exit status is lost now)"
            + (f"; and cow_fork then returned while its own child (pid {case['own']}) was still there (state "
               f"{case['own_at_return']})" if case.get("own_at_return") else "")
            + ". Wait for your child by its pid: os.waitpid(pid, 0)")
    if case.get("own") and case.get("own_at_return"):
        raise AssertionError(
            f"in another call, where the caller already had a zombie child of its own (pid {other}), cow_fork "
            f"returned while its own child (pid {case['own']}) was still there (state {case['own_at_return']} in "
            f"/proc/{case['own']}/stat): wait for your child by its pid, os.waitpid(pid, 0), before returning")


# ------------------------------------------------------------------ the buffer before fork


def test_the_buffer_is_private_and_every_page_is_in_memory_before_fork(exercise):
    seen = _observe(exercise)
    _need(seen, "forked")
    cp = seen["forked"]
    if cp.get("missing"):
        _need(seen, "returned")
        _check_stage_called(seen, "forked")
    plan = seen["plan"]
    assert cp["problem"] is None, (
        f"checkpoint('forked', buf) was given {cp['problem']}: pass the buffer you made, a bytearray (or an "
        "anonymous mmap with flags=mmap.MAP_PRIVATE)")
    assert cp["nbytes"] == plan["size"], (
        f"the buffer given to checkpoint('forked', buf) has {cp['nbytes']} bytes, expected size = {plan['size']}")
    view = seen["forked_view"]
    if _copied_in_child(seen):
        return   # the test on the first checkpoint says so
    for who in ("parent", "child"):
        assert f"{who}_error" not in view, (
            f"the grader could not read /proc/PID/pagemap of the {who}: {view[f'{who}_error']}")
    parent, child = view["parent_pages"], view["child_pages"]
    n = parent["n"]
    if parent["file"]:
        raise AssertionError(
            f"{parent['file']} of the {n} pages of your buffer are shared memory (pagemap: file or shmem pages), "
            "not private to the process: mmap.mmap(-1, size) makes a MAP_SHARED mapping, which fork never "
            "copies, so parent and child write into the same memory. Use a bytearray, or "
            "mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE)")
    assert parent["present"] == n, (
        f"right after fork only {parent['present']} of the {n} pages of your buffer were in the parent's memory "
        f"(/proc/PID/pagemap, bit 63): the kernel gives a page a frame only when it is first written. Set every "
        f"byte to fill before os.fork() {_where(seen)}")
    assert child["present"] == n, (
        f"right after fork only {child['present']} of the {n} pages of the buffer were mapped in the child, "
        f"though all {n} were in the parent's memory: fill the buffer before os.fork(), and pass checkpoint the "
        "buffer the child inherited")
    content = _child_content(seen)
    first_other = content.get("first_other") if content and content.get("buffer") else None
    written = seen.get("written_view", {}).get("child_pages")
    if first_other and written and not seen["written"].get("missing"):
        i, byte = first_other
        if (seen["written"]["address"] + i) // PAGE not in set(written["own"]):
            raise AssertionError(
                f"{content['others']} bytes of the child's buffer were neither fill ({plan['fill']:#04x}) nor mark, "
                f"e.g. offset {i} held {byte:#04x}, in a page the child had never written (still shared with the "
                f"parent, /proc/PID/pagemap): that byte was there at fork. Set every byte to fill before os.fork()")


def test_a_fill_of_zero_is_written_before_fork_too(exercise):
    seen = _observe(exercise)
    _need(seen, "returned")
    zero = seen["returned"].get("zero_case") or {}
    if "present" not in zero:
        return   # no child called checkpoint in the second call: the tests of the first call say why
    assert zero["present"] == zero["n"], (
        f"in a second call, cow_fork({8 << 20}, 0, ...), the child had only {zero['present']} of the {zero['n']} "
        "pages of its buffer in memory at checkpoint('forked', buf) (/proc/self/pagemap, bit 63): a fresh "
        "buffer reads as zeros, but its pages get a frame only when written. Set every byte to fill before "
        "os.fork(), even when fill is 0")


def _child_content(seen: dict):
    found = _messages(seen, "child_content") if "returned" in seen else []
    return found[0]["child_content"] if found else None


def test_right_after_fork_the_child_shares_every_page_with_its_parent(exercise):
    seen = _observe(exercise)
    _need(seen, "forked", "returned")
    _check_stage_called(seen, "forked")
    view = seen["forked_view"]
    if "child_pages" not in view or _shared_memory(view):
        return   # no private buffer to speak of: the test above says so
    if _copied_in_child(seen):
        raise AssertionError(
            f"the buffer the child passed to checkpoint('forked', buf) (at address {seen['forked']['address']:#x}) is "
            "not the parent's: the parent has no page of it there, and every page of it is the child's alone "
            "(/proc/PID/pagemap): the child made a new buffer after fork, a copy. Pass the buffer the child "
            "inherited from os.fork(), untouched; the kernel copies its pages by itself when they are written")
    if _child_wrote_first(seen):
        own = view["child_pages"]["own"]
        raise AssertionError(
            f"when the child called checkpoint('forked', buf), {len(own)} of the pages it was to write were already "
            f"its own copies (/proc/PID/pagemap), and it had written its marks: it wrote before calling "
            "checkpoint('forked', buf). Call it first thing in the child, before any write")


def _child_wrote_first(seen: dict) -> bool:
    """At "forked" some pages were already the child's own, all of them pages it was to write, its copy holds the
    marks and the parent's does not: the child wrote before its first checkpoint."""
    view = seen.get("forked_view", {})
    if "child_pages" not in view or _shared_memory(view):
        return False
    own = set(view["child_pages"]["own"])
    content = _child_content(seen) or {}
    returned = seen["returned"]["returned"]["content"]
    return bool(own) and own <= _expected_own(seen, seen["forked"]["address"]) and \
        bool(content.get("n_marked")) and not returned.get("n_marked")


# ------------------------------------------------------------------ the child's writes


def test_only_the_pages_the_child_writes_become_its_own_copies(exercise):
    seen = _observe(exercise)
    _need(seen, "forked", "written", "returned")
    _check_stage_called(seen, "written")
    plan = seen["plan"]
    cp, view = seen["written"], seen["written_view"]
    if cp["problem"] is not None or "child_pages" not in view:
        raise AssertionError(
            f"checkpoint('written', buf) was given {cp['problem'] or 'a buffer the grader could not read'}: pass "
            "the buffer the child wrote into")
    if not seen["forked"].get("missing") and seen["forked"]["address"] != cp["address"]:
        raise AssertionError(
            "the child passed checkpoint('written', buf) another buffer than the one it passed to "
            "checkpoint('forked', buf) (another address in its memory): write into the buffer the child "
            "inherited from fork, not into a copy of it; there is nothing to copy by hand, the kernel does it")
    content = _child_content(seen)
    if content is not None and content.get("buffer"):
        assert not content["n_unmarked"], (
            f"after the child's writes, {content['n_unmarked']} of the {len(plan['offsets'])} offsets of its buffer "
            f"did not hold mark ({plan['mark']:#04x}), e.g. offset {content['unmarked'][0]}: set buf[offset] = mark "
            "for every offset, in the child")
    if _shared_memory(view):
        return   # shared memory is never copied: the test on the buffer says so
    child, parent = view["child_pages"], view["parent_pages"]
    n, own = child["n"], set(child["own"])
    expected = _expected_own(seen, cp["address"])
    # Pages already private at "forked" were written before the child's writes (the tests on the parent and on
    # the first checkpoint say by whom): only what changed between the two checkpoints is the child's doing.
    first = seen.get("forked_view", {}).get("child_pages")
    before = set(first["own"]) if first and not seen["forked"].get("missing") and \
        seen["forked"]["address"] == cp["address"] else set()
    missing, extra = expected - own, own - expected - before
    if not own:
        raise AssertionError(
            f"after the child's writes none of the {n} pages of its buffer was a copy of its own (pagemap bit 56: "
            f"every page was still shared with the parent) {_where(seen)}: the child must write into the buffer "
            "itself, in the child process")
    if extra:
        parent_note = ""
        if len(extra) > len(expected) and len(set(parent["own"]) - expected) >= len(extra) // 2:
            parent_note = (" (the parent's own copies grew as well: a page written by either process after fork is "
                           "copied for the writer, and the other keeps the old frame for itself)")
        raise AssertionError(
            f"after the child's writes, {len(own)} of the {n} pages of its buffer were copies of its own "
            f"(/proc/{cp['pid']}/pagemap, bit 56), but it was to write {len(plan['offsets'])} bytes in "
            f"{len(expected)} pages {_where(seen)}{parent_note}: any write, even of the same value, makes the kernel "
            "copy the whole page. Write mark at the given offsets only, and do not write anything else into the "
            "buffer after fork, in the child or in the parent")
    assert not missing, (
        f"after the child's writes, {len(missing)} of the {len(expected)} pages holding an offset were still shared "
        f"with the parent (/proc/{cp['pid']}/pagemap, bit 56 clear): write mark at every offset, in the child")
    if content is not None and content.get("first_other"):
        i, byte = content["first_other"]
        assert (cp["address"] + i) // PAGE not in own, (
            f"after the child's writes, offset {i} of its buffer held {byte:#04x}, neither fill nor mark, in a page "
            f"the child had written ({content['others']} such bytes): write one byte, mark, at each offset, and "
            "nothing else")
    end = seen.get("exit") or {}
    if end.get("not_marked"):
        off, byte = end["not_marked"][0]
        raise AssertionError(
            f"when the child ended, {len(end['not_marked'])} of the {len(plan['offsets'])} offsets of its buffer no "
            f"longer held mark ({plan['mark']:#04x}), e.g. offset {off} held {byte:#04x} (/proc/PID/mem, read from "
            "outside while ptrace held the child at its exit): after checkpoint('written', buf) the child writes "
            "nothing more; it ends at once with os._exit(0)")
    after, at_fork = view.get("child_rollup"), seen.get("forked_view", {}).get("child_rollup")
    parent_first = seen.get("forked_view", {}).get("parent_pages")
    if after and at_fork and not before and parent_first and parent_first["present"] == n:
        grown = after["Private_Dirty"] - at_fork["Private_Dirty"]
        wrote = len(expected) * PAGE // KIB
        assert grown <= wrote + ROLLUP_SLACK_KIB, (
            f"between its two checkpoints the child's Private_Dirty (/proc/{cp['pid']}/smaps_rollup) grew by "
            f"{grown} kB, though it wrote only {len(expected)} pages ({wrote} kB): the child copied much more "
            "memory than the pages it wrote; write into the inherited buffer, one byte per offset, and nothing "
            "else")
        unwritten = (n - len(expected)) * PAGE // KIB
        assert after["Shared_Dirty"] >= unwritten, (
            f"after the child's writes its Shared_Dirty (/proc/{cp['pid']}/smaps_rollup) was {after['Shared_Dirty']} "
            f"kB, less than the {unwritten} kB of buffer pages it never wrote, which should still be shared with "
            "the parent: fill the buffer before os.fork(), and leave the other pages alone")


# ------------------------------------------------------------------ the parent


def test_the_parent_never_writes_into_the_buffer_and_never_sees_the_childs_writes(exercise):
    seen = _observe(exercise)
    error = seen.get("error")
    if "returned" not in seen and error is not None and "SIGSEGV" in str(error) and "written" in seen:
        raise AssertionError(
            "the process that called cow_fork was killed by SIGSEGV after its child had forked: the grader had made "
            "the parent's buffer read-only (mprotect) once the child had called checkpoint('forked', buf), and the "
            "parent wrote into it (before or after reaping the child). The parent must never write into the "
            "buffer after os.fork(): it only waits for the child, then returns the buffer")
    _need(seen, "forked", "returned")
    plan = seen["plan"]
    view = seen.get("forked_view", {})
    if "child_pages" in view and not _shared_memory(view) and not _child_wrote_first(seen) and \
            not _copied_in_child(seen):
        own = set(view["child_pages"]["own"])
        if own:
            raise AssertionError(
                f"right after fork, before the child had written anything, {len(own)} of the "
                f"{view['child_pages']['n']} "
                f"pages of the buffer were no longer shared between parent and child (/proc/PID/pagemap): the parent "
                "wrote into its buffer after os.fork(), and each page it wrote was copied. The parent must leave the "
                "buffer alone and just wait for the child")
    content = seen["returned"]["returned"]["content"]
    if not content.get("buffer"):
        return   # not a buffer: the test on the return value says so
    if content["n_marked"]:
        shared = _shared_memory(view) if view else False
        raise AssertionError(
            f"the buffer cow_fork returned holds the child's mark ({plan['mark']:#04x}) at {content['n_marked']} of "
            f"the "
            f"{len(plan['offsets'])} offsets, e.g. offset {content['marked'][0]}: "
            + ("the buffer is shared memory (mmap.mmap(-1, size) is MAP_SHARED), so the child wrote into the "
               "parent's pages; make it private (a bytearray, or flags=mmap.MAP_PRIVATE)" if shared else
               "the child's writes must land in its own copies of the pages; write them in the child only "
               "(after os.fork() returned 0), never in the parent"))


def test_the_parent_reaps_the_child_before_returning(exercise):
    seen = _observe(exercise)
    _need(seen, "returned", "after")
    r = seen["returned"]
    at_return = dict(r["at_return"])
    for pid, state in at_return.items():
        assert state == "Z", (
            f"when cow_fork returned, its child (pid {pid}) was still running (state {state} in /proc/PID/stat): "
            "wait for the child with os.waitpid(pid, 0) before returning")
    for pid, state in seen["after"].items():
        if state is None:
            continue
        assert state != "Z", (
            f"after cow_fork had returned, its child (pid {pid}) was a zombie (state Z in /proc/{pid}/stat, seen by "
            "the grader from outside): it had exited, and nobody had collected its exit status. Reap it with "
            "os.waitpid(pid, 0) before returning")
        raise AssertionError(
            f"after cow_fork had returned, its child (pid {pid}) was still there (state {state} in /proc/{pid}/stat): "
            "wait for it with os.waitpid(pid, 0) before returning")
    assert not at_return, (
        f"when cow_fork returned, children of it were left unreaped: {sorted(at_return)}: reap the child with "
        "os.waitpid(pid, 0) before returning")


def test_cow_fork_returns_the_parents_buffer_still_full_of_fill(exercise):
    seen = _observe(exercise)
    _need(seen, "returned")
    plan = seen["plan"]
    ret = seen["returned"]["returned"]
    content = ret["content"]
    assert content.get("buffer"), (
        f"cow_fork returned a {ret['type']}, expected the parent's buffer (the bytearray, or the mmap)")
    assert content["nbytes"] == plan["size"], (
        f"cow_fork returned {content['nbytes']} bytes, expected the buffer of size = {plan['size']} bytes")
    cp = seen.get("forked", {})
    if not cp.get("missing") and cp.get("address") is not None and not _copied_in_child(seen):
        assert ret.get("address") == cp["address"], (
            f"cow_fork returned a {ret['type']} at address {ret.get('address') or 0:#x}, "
            "not the buffer it forked with (at "
            f"{cp['address']:#x} in both processes): a copy. Return the parent's buffer itself, the very object "
            "that was filled before fork")
    assert not content["others"], (
        f"{content['others']} bytes of the buffer cow_fork returned are not fill ({plan['fill']:#04x}), e.g. offset "
        f"{(content['first_other'] or [0])[0]}: every byte is set to fill before fork, and the parent never "
        "writes into it afterwards")
