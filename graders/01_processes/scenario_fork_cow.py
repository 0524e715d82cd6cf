"""Scenario for exercises/01_processes/fork_cow.py: runs beside the student's code, in the sandbox.

`cow` calls cow_fork(size, fill, offsets, mark, checkpoint) once. The checkpoint it passes is the
handshake: called in the forked child, it reports the child's pid and where its buffer lives
(ctx.event "checkpoint"), then blocks on a gate (a FIFO the test holds open) while the test reads
/proc/PID/pagemap and /proc/PID/smaps_rollup of both processes from outside. After the "written"
gate the child's copy is checked here (it has the object); the parent's buffer is checked when
cow_fork returns. Then ctx.event "returned" and a last gate, while the test looks for the child in
/proc (it must be reaped by then). Every wait has a deadline.

Events, always in this order, whatever the student's code does: checkpoint(stage="forked"),
checkpoint(stage="written"), returned. A stage the child never reached is reported by the parent
side once cow_fork has returned, with missing=True.
"""

import ctypes
import json
import os
import re
import select
import signal
import struct
import threading
import time

from graders.harness import osinspect
from graders.harness.scenario import pass_gate

GATE_DEADLINE = 8.0     # the test opens each gate as soon as it has looked (its own waits are shorter)
CHILD_DEADLINE = 4.0    # after cow_fork returned: how long its children may take to finish
PAGE = os.sysconf("SC_PAGE_SIZE")
PROT_READ, PROT_READ_WRITE = 1, 3
ZERO_SIZE = 8 << 20      # the second call, with fill 0: a buffer of 8 MiB
SMALL_SIZE = 16 * PAGE   # the later calls: a checkpoint that raises, a caller with a zombie child of its own
SMALL_DEADLINE = 2.0     # for those calls: how long their children may take to finish
_libc = ctypes.CDLL(None, use_errno=True)
_mprotect = _libc.mprotect          # looked up here, before any student code runs
_mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
_mprotect.restype = ctypes.c_int


def _interior(address, nbytes):
    """(start, length) of the pages lying wholly inside [address, address + nbytes)."""
    start = -(-address // PAGE) * PAGE
    return start, max(0, (address + nbytes) // PAGE * PAGE - start)


def _present(address, nbytes) -> tuple:
    """(pages present, pages) of the buffer in this process's own /proc/self/pagemap (bit 63 or 62)."""
    start, length = _interior(address, nbytes)
    with open("/proc/self/pagemap", "rb") as f:
        f.seek(start // PAGE * 8)
        data = f.read(length // PAGE * 8)
    entries = [e for (e,) in struct.iter_unpack("<Q", data)]
    return sum(1 for e in entries if e & (3 << 62)), len(entries)


def _send(fd, **msg) -> None:
    try:
        os.write(fd, (json.dumps(msg) + "\n").encode())   # < PIPE_BUF: one atomic write
    except OSError:
        pass


def _take(fd) -> bool:
    """Take the one token of a stage (a byte in a pipe): only one process ever reports a stage."""
    try:
        return bool(os.read(fd, 1))
    except BlockingIOError:
        return False


def _address(buf):
    """(address, nbytes, problem): where the buffer's bytes are in this process's memory."""
    try:
        view = memoryview(buf)
    except TypeError:
        return None, None, f"a {type(buf).__name__}, which is not a buffer of bytes"
    with view:
        nbytes, readonly = view.nbytes, view.readonly
    if readonly:
        return None, nbytes, f"a read-only {type(buf).__name__}: the child could not write into it"
    if nbytes == 0:
        return None, 0, "an empty buffer"
    try:
        cell = (ctypes.c_char * 1).from_buffer(buf)
    except (TypeError, ValueError) as exc:
        return None, nbytes, f"a {type(buf).__name__} whose memory cannot be located ({exc})"
    address = ctypes.addressof(cell)
    del cell
    return address, nbytes, None


def _bytes_of(buf) -> bytes:
    if isinstance(buf, (bytes, bytearray)):
        return buf
    return memoryview(buf).tobytes()


def _content(buf, size, fill, offsets, mark) -> dict:
    """What the bytes of BUF say: its length, offsets that do not hold MARK, other bytes that are not FILL."""
    try:
        data = _bytes_of(buf)
    except TypeError:
        return {"type": type(buf).__name__, "buffer": False}
    marks = set(offsets)
    unmarked = [o for o in offsets if o >= len(data) or data[o] != mark]
    marked = [o for o in offsets if o < len(data) and data[o] == mark]
    others = len(data) - data.count(bytes([fill])) - len(marked)
    first_other = None
    if others:   # the first byte that is neither fill nor one of the marks (a regex scan: no copy)
        for match in re.compile(b"[^" + re.escape(bytes([fill])) + b"]").finditer(data):
            if match.start() not in marks:
                first_other = (match.start(), data[match.start()])
                break
    return {"type": type(buf).__name__, "buffer": True, "nbytes": len(data), "unmarked": unmarked[:5],
            "n_unmarked": len(unmarked), "marked": marked[:5], "n_marked": len(marked), "others": others,
            "first_other": first_other}


def _describe(exc: BaseException) -> str:
    import traceback
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if not frame.filename.endswith("scenario_fork_cow.py"):
            where = f" ({os.path.basename(frame.filename)} line {frame.lineno}: `{(frame.line or '').strip()}`)"
    text = str(exc)[:300]
    return f"{type(exc).__name__}{': ' + text if text else ''}{where}"


def _children(me: int) -> dict:
    """This process's children and their state letters (Z for a zombie not yet reaped)."""
    found = {}
    for pid in osinspect.children(me):
        try:
            found[pid] = osinspect.state(pid)
        except ProcessLookupError:
            pass
    return found


def cow(student, ctx, size, fill, offsets, mark, gates):
    me = os.getpid()
    rep_r, rep_w = os.pipe()                 # children -> this side: one JSON line per message
    tokens = {}
    for stage in ("forked", "written"):
        r, w = os.pipe()
        os.write(w, b"T")
        os.close(w)
        os.set_blocking(r, False)
        tokens[stage] = r
    mine = {"forked": False, "written": False}   # per process: a forked copy has its own
    in_parent = []
    forks = []
    # The parent's buffer, made read-only in the parent once its child has forked (mprotect, by a thread of
    # the parent started after fork, so the child never inherits it): a write by the parent after fork, even
    # after it has reaped the child, then kills it with SIGSEGV instead of passing unseen.
    where_r, where_w = os.pipe()             # the child -> the parent's guard thread: "address nbytes"
    ack_r, ack_w = os.pipe()                 # the guard thread -> the child: the buffer is read-only now
    guard = {"armed": True, "thread": None, "protected": None}

    def _guard():
        try:
            ready, _, _ = select.select([where_r], [], [], GATE_DEADLINE * 2)
            if not ready:
                return
            line = os.read(where_r, 200).split()
            start, length = _interior(int(line[0]), int(line[1]))
            if length and guard["armed"] and _mprotect(start, length, PROT_READ) == 0:
                guard["protected"] = (start, length)
        except (OSError, ValueError, IndexError):
            pass
        finally:
            try:
                os.write(ack_w, b"k")
            except OSError:
                pass

    def _after_fork_in_parent():
        if os.getpid() != me:
            return
        forks.append(1)
        if guard["armed"] and guard["thread"] is None:
            guard["thread"] = threading.Thread(target=_guard, daemon=True)
            guard["thread"].start()

    os.register_at_fork(after_in_parent=_after_fork_in_parent)

    def checkpoint(stage=None, buf=None, *extra):
        pid = os.getpid()
        if pid == me:
            in_parent.append(repr(stage)[:40])
            return None
        if extra or stage not in ("forked", "written"):
            _send(rep_w, pid=pid, bad_call=f"checkpoint({', '.join(repr(a)[:40] for a in (stage, buf, *extra))})")
            return None
        if stage == "written" and not mine["forked"]:
            _send(rep_w, pid=pid, out_of_order=True)
            return None
        if mine[stage] or not _take(tokens[stage]):
            _send(rep_w, pid=pid, again=stage)
            return None
        mine[stage] = True
        address, nbytes, problem = _address(buf)
        where = "child" if os.getppid() == me else "descendant"
        ctx.event("checkpoint", stage=stage, pid=pid, ppid=os.getppid(), caller=me, where=where,
                  address=address, nbytes=nbytes, problem=problem)
        _send(rep_w, pid=pid, reached=stage)
        released = pass_gate(gates[0 if stage == "forked" else 1], GATE_DEADLINE)
        if stage == "forked" and address is not None and os.getppid() == me:
            os.write(where_w, f"{address} {nbytes}\n".encode())
            select.select([ack_r], [], [], GATE_DEADLINE)    # until the parent's copy is read-only
        if stage == "written":
            # After the outside look (reading 100 MiB would blur it): what the child's copy holds.
            try:
                _send(rep_w, pid=pid, child_content=_content(buf, size, fill, offsets, mark))
            except Exception as exc:  # noqa: BLE001 - report, never break the child
                _send(rep_w, pid=pid, child_content={"error": _describe(exc)})
        if not released:
            _send(rep_w, pid=pid, gate_timeout=stage)
        return None

    try:
        result = student.cow_fork(size, fill, list(offsets), mark, checkpoint)
    except BaseException as exc:  # noqa: BLE001
        if os.getpid() != me:          # a forked process came back up into the caller's code
            _send(rep_w, pid=os.getpid(), escaped=_describe(exc))
            os._exit(0)
        raise                          # the parent: the harness reports it (NotImplementedError: todo)
    finally:
        guard["armed"] = False
        if os.getpid() == me and guard["protected"]:
            _mprotect(*guard["protected"], PROT_READ_WRITE)
    if os.getpid() != me:
        _send(rep_w, pid=os.getpid(), returned_into_caller=True)
        os._exit(0)
    protected = guard["protected"]
    n_forks = len(forks)

    at_return = _children(me)
    os.close(rep_w)
    messages, buffer, deadline = [], b"", time.monotonic() + CHILD_DEADLINE
    hung = False
    while True:
        left = deadline - time.monotonic()
        ready, _, _ = select.select([rep_r], [], [], max(0.0, left))
        if not ready:
            hung = True
            break
        chunk = os.read(rep_r, 65536)
        if not chunk:
            break
        buffer += chunk
    os.close(rep_r)
    for line in buffer.decode(errors="replace").splitlines():
        try:
            messages.append(json.loads(line))
        except ValueError:
            pass
    reached = {m["reached"] for m in messages if "reached" in m}
    for stage in ("forked", "written"):
        if stage not in reached:
            ctx.event("checkpoint", stage=stage, missing=True, caller=me, in_parent=in_parent)

    report = {
        "forks": n_forks,
        "protected": bool(protected),
        "in_parent": in_parent,
        "messages": messages,
        "hung": hung,
        "at_return": sorted(at_return.items()),
        "children_now": sorted(_children(me).items()),
    }
    address, nbytes, problem = _address(result)
    report["returned"] = {"type": type(result).__name__, "problem": problem, "address": address,
                          "content": _content(result, size, fill, offsets, mark)}
    report["zero_case"] = _zero_case(student, me, offsets, mark)
    report["raising"] = [_raising_case(student, me, stage, kind) for stage, kind in
                         (("forked", RuntimeError), ("written", KeyboardInterrupt))]
    report["other_zombie"] = _other_zombie_case(student, me, offsets, mark)
    ctx.event("returned", **report)
    pass_gate(gates[2], GATE_DEADLINE)

    # Leave nothing behind: what the student left is reported by the test, not by the harness.
    for pid in list(_children(me)):
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except OSError:
            pass
    return {"done": True}


def _zero_case(student, me, offsets, mark):
    """A second call with fill 0 (8 MiB): "every page is in memory when fork happens" holds for 0 too (a fresh
    anonymous mapping reads as zeros, but none of its pages is in memory until written). The child reports, at
    checkpoint('forked', buf), how many pages of its buffer it has in memory (its own /proc/self/pagemap)."""
    n_pages = ZERO_SIZE // PAGE
    offs = sorted({(p * PAGE + o) for p, o in zip(range(3, n_pages - 3, max(1, n_pages // 9)), offsets)})
    r, w = os.pipe()

    def checkpoint(stage=None, buf=None, *extra):
        if os.getpid() == me or stage != "forked":
            return None
        try:
            address, nbytes, problem = _address(buf)
            if address is not None:
                present, n = _present(address, nbytes)
                _send(w, present=present, n=n)
            else:
                _send(w, problem=problem)
        except Exception as exc:  # noqa: BLE001
            _send(w, problem=_describe(exc))
        return None

    found = {}
    try:
        try:
            student.cow_fork(ZERO_SIZE, 0, offs, mark or 1, checkpoint)
        except BaseException as exc:  # noqa: BLE001
            if os.getpid() != me:
                os._exit(0)
            found["error"] = _describe(exc)
        if os.getpid() != me:
            os._exit(0)
        os.close(w)
        w = None
        ready, _, _ = select.select([r], [], [], CHILD_DEADLINE)
        data = os.read(r, 4096) if ready else b""
        for line in data.decode(errors="replace").splitlines():
            try:
                found.update(json.loads(line))
                break
            except ValueError:
                pass
    finally:
        os.close(r)
        if w is not None:
            os.close(w)
    return found


def _drain(r, deadline: float) -> list:
    """Every JSON line written to the pipe R until all its writers closed it (or DEADLINE s passed)."""
    data, end = b"", time.monotonic() + deadline
    while True:
        ready, _, _ = select.select([r], [], [], max(0.0, end - time.monotonic()))
        if not ready:
            break
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    found = []
    for line in data.decode(errors="replace").splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            pass
    return found


def _reap_strays(me, keep=()) -> None:
    """Kill and reap what a call left behind (the test reports it), so that the next call starts clean."""
    for pid in list(_children(me)):
        if pid in keep:
            continue
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except OSError:
            pass


def _raising_case(student, me, stage, kind):
    """A call whose checkpoint raises KIND (RuntimeError, or KeyboardInterrupt: a BaseException) in the child at
    STAGE. The child must still end with os._exit: an exception that comes up out of cow_fork in the child runs
    the caller's code in a second process. Reports what the child did, seen from here (the caller's code)."""
    r, w = os.pipe()

    def checkpoint(at=None, buf=None, *extra):
        if os.getpid() != me:
            _send(w, pid=os.getpid(), called=at)
            if at == stage:
                raise kind(f"raised by the grader's checkpoint({stage!r}, buf)")
        return None

    found = {"stage": stage, "kind": kind.__name__}
    try:
        try:
            student.cow_fork(SMALL_SIZE, 0x3C, [3 * PAGE + 5, 9 * PAGE + 1], 0xC3, checkpoint)
        except BaseException as exc:  # noqa: BLE001
            if os.getpid() != me:     # the child came back up into the caller's code
                _send(w, pid=os.getpid(), escaped=_describe(exc))
                os._exit(0)
            found["parent_raised"] = _describe(exc)
        if os.getpid() != me:
            _send(w, pid=os.getpid(), returned_into_caller=True)
            os._exit(0)
        os.close(w)
        w = None
        messages = _drain(r, SMALL_DEADLINE)
    finally:
        os.close(r)
        if w is not None and os.getpid() == me:
            os.close(w)
    found["called"] = [m["called"] for m in messages if "called" in m]
    found["escaped"] = [m["escaped"] for m in messages if "escaped" in m]
    found["returned_into_caller"] = any("returned_into_caller" in m for m in messages)
    _reap_strays(me)
    return found


def _other_zombie_case(student, me, offsets, mark):
    """The caller already has a child of its own, a zombie (exited, not yet reaped), when it calls cow_fork: cow_fork
    must wait for the child it made (os.waitpid(pid, 0)), and leave the caller's zombie alone. os.wait() (any
    child) would reap that zombie at once and return while its own child still runs."""
    found = {}
    other = os.fork()
    if other == 0:
        os._exit(7)
    deadline = time.monotonic() + SMALL_DEADLINE
    while time.monotonic() < deadline:
        try:
            if osinspect.state(other) == "Z":
                break
        except ProcessLookupError:
            break
        time.sleep(0.001)
    try:
        found["other_was_zombie"] = osinspect.state(other) == "Z"
    except ProcessLookupError:
        found["other_was_zombie"] = False
    found["other"] = other
    r, w = os.pipe()

    def checkpoint(at=None, buf=None, *extra):
        if os.getpid() != me and at == "forked":
            _send(w, pid=os.getpid())
        return None

    try:
        try:
            student.cow_fork(SMALL_SIZE, 0x69, [2 * PAGE + 7, 11 * PAGE], mark or 1, checkpoint)
        except BaseException as exc:  # noqa: BLE001
            if os.getpid() != me:
                os._exit(0)
            found["error"] = _describe(exc)
        if os.getpid() != me:
            os._exit(0)
        # Right at return, before anything else runs here: the caller's zombie, and cow_fork's own child.
        try:
            done, status = os.waitpid(other, os.WNOHANG)
            found["other_after"] = "zombie" if done == other else "running"
            found["other_status"] = status if done == other else None
        except ChildProcessError:
            found["other_after"] = "reaped"
        at_return = _children(me)
        os.close(w)
        w = None
        messages = _drain(r, SMALL_DEADLINE)
    finally:
        os.close(r)
        if w is not None and os.getpid() == me:
            os.close(w)
    own = [m["pid"] for m in messages if "pid" in m]
    found["own"] = own[0] if own else None
    found["own_at_return"] = at_return.get(found["own"]) if found["own"] else None
    _reap_strays(me)
    return found
