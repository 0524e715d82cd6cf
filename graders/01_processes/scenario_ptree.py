"""Scenario for exercises/01_processes/ptree.py: runs beside the student's code, in the sandbox.

`scan` builds a tree of processes below this one, as the test planned it (random shape, awkward names
set through /proc/self/comm or by exec'ing a symlink, one of them not valid UTF-8 once the kernel cut it at
15 bytes, leaves held in the states S, T, Z and R) and a pair (a parent with two children whose pids are out
of order in a set and, when the test could move the pid counter, as strings), then calls process_tree()
twice:

1. with everything standing still: ctx.event("scanned", ...) sends what the student's dict says about
   these processes, then waits at a gate (a FIFO the test holds open) while the test reads the same
   processes from outside, in /proc and with psutil;
2. after this process renamed itself and a newcomer was forked, and with two victims that vanish in the middle
of the scan, at the
   moment the student's code reaches for them: an audit hook sees the open of /proc/V1/... and kills
   and reaps V1 before the open runs (FileNotFoundError); for V2 it kills it, lets the open succeed on
   the zombie, and a profile function reaps V2 at the next call or return in that thread, before the
   read (ProcessLookupError). No timing is involved.

format_tree is called once, on a tree dict the scenario builds itself from what it knows.
Every wait has a deadline; every process made here is killed and reaped before the scenario returns.
"""

import os
import re
import select
import shutil
import signal
import sys
import threading
import time

from graders.harness import osinspect
from graders.harness.scenario import pass_gate

BUILD_DEADLINE = 4.0
GATE_DEADLINE = 8.0
HERE = os.path.abspath(__file__)
HARNESS = os.path.dirname(os.path.abspath(osinspect.__file__))
_PROC_PID = re.compile(r"^/proc/(\d+)(?:/|$)")
_HELD: list[int] = []   # write ends this process holds for its own purposes: a forked node closes its copies


# ------------------------------------------------------------------ small tools


def _kept(name: str) -> str:
    """The name as the kernel keeps it: its first 15 bytes (TASK_COMM_LEN is 16, with the NUL), decoded as the
    contract says (errors="replace": a character cut in two by the 15-byte limit becomes U+FFFD)."""
    return name.encode()[:15].decode("utf-8", errors="replace")


def _set_comm(name: str) -> None:
    with open("/proc/self/comm", "wb") as f:
        f.write(name.encode())


def _wait_for(predicate, what: str):
    deadline = time.monotonic() + BUILD_DEADLINE
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise RuntimeError(f"the grader's process tree did not settle: {what} (grader bug or overloaded machine)")
        time.sleep(0.002)


def _state(pid: int):
    """The state letter, read in binary (a comm that is not UTF-8 must not break the grader), or None if gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            line = f.read()
        return line[line.rindex(b")") + 2:].split()[0].decode()
    except (OSError, ValueError, IndexError):
        return None


def _describe(exc: BaseException) -> str:
    import traceback
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if os.path.abspath(frame.filename) != HERE:
            where = f" ({os.path.basename(frame.filename)} line {frame.lineno}: `{(frame.line or '').strip()}`)"
    text = str(exc)[:300]
    return f"{type(exc).__name__}{': ' + text if text else ''}{where}"


# ------------------------------------------------------------------ the tree of processes


def _node(plan: list, index: int, release: int, ready: int, cat: str, tmp: str) -> None:
    """Body of a forked node: name itself, fork its children, report, then hold its state."""
    spec = plan[index]
    kids = [i for i, s in enumerate(plan) if s["parent"] == index]
    try:
        for fd in _HELD:
            os.close(fd)
        _HELD.clear()
        _set_comm(spec["name"])
        made = {}
        for k in kids:
            made[k] = _fork_node(plan, k, release, ready, cat, tmp)
        os.write(ready, f"{index} {os.getpid()}\n".encode())
        if spec["state"] == "Z":
            os._exit(0)
        if spec["state"] == "R":
            # Runnable all the time, but only on CPU time nobody else wants: the grading stays fast.
            try:
                os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
            except (OSError, AttributeError):
                os.nice(19)
            while True:
                pass
        # S (a T node, too, waits here: the scenario stops it once everyone is in place)
        while os.read(release, 1):
            pass
        for k, (pid, extra) in made.items():
            if plan[k]["state"] in ("R", "T"):
                os.kill(pid, signal.SIGKILL)
            if extra is not None:
                os.close(extra)       # the exec'd leaf reads its stdin until end-of-file
                _HELD.remove(extra)
        for pid, _ in made.values():
            os.waitpid(pid, 0)
    finally:
        os._exit(0)


def _fork_node(plan: list, index: int, release: int, ready: int, cat: str, tmp: str):
    """(pid, fd to close at release or None). An exec leaf is `cat` run through a symlink named after it."""
    spec = plan[index]
    if spec.get("exec"):
        link = os.path.join(tmp, f"link-{index}")
        os.makedirs(link, exist_ok=True)
        path = os.path.join(link, spec["name"])
        if not os.path.lexists(path):
            os.symlink(cat, path)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.dup2(r, 0)
                os.execv(path, [spec["name"]])
            finally:
                os._exit(127)
        os.close(r)
        _HELD.append(w)
        os.write(ready, f"{index} {pid}\n".encode())
        return pid, w
    pid = os.fork()
    if pid == 0:
        _node(plan, index, release, ready, cat, tmp)
    return pid, None


class _Tree:
    """The planned processes, made and later taken down by this (the scenario's) process."""

    def __init__(self, plan: list, tmp: str):
        self.plan = plan
        self.tmp = tmp
        self.cat = shutil.which("cat") or "/bin/cat"
        self.release_r, self.release_w = os.pipe()
        self.ready_r, self.ready_w = os.pipe()
        _HELD.append(self.release_w)
        self.pids: dict[int, int] = {}
        self.top: list[tuple[int, int | None]] = []   # the processes this one forked itself
        self.pair = None

    def grow(self, indexes: list[int]) -> None:
        """Fork the nodes of INDEXES whose parent is this process (-1), and their subtrees; wait until
        every node of the plan in INDEXES' subtrees stands in its planned state."""
        want = set()
        for i in indexes:
            stack = [i]
            while stack:
                j = stack.pop()
                want.add(j)
                stack += [k for k, s in enumerate(self.plan) if s["parent"] == j]
            self.top.append(_fork_node(self.plan, i, self.release_r, self.ready_w, self.cat, self.tmp))
        buffer = b""
        deadline = time.monotonic() + BUILD_DEADLINE
        while not want <= set(self.pids):
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.ready_r], [], [], max(0.0, left))
            if not ready:
                raise RuntimeError("the grader's process tree did not start in time (grader bug or overloaded machine)")
            buffer += os.read(self.ready_r, 4096)
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                index, pid = map(int, line.split())
                self.pids[index] = pid
        for i in want:
            pid, spec = self.pids[i], self.plan[i]
            if spec["state"] == "T":
                _wait_for(lambda p=pid: _state(p) == "S", f"node {i} asleep")
                os.kill(pid, signal.SIGSTOP)
            elif spec.get("exec"):
                _wait_for(lambda p=pid, n=spec["name"]: _comm(p) == _kept(n) and _state(p) == "S",
                          f"exec'd node {i}")
        for i in want:
            pid, letter = self.pids[i], self.plan[i]["state"]
            _wait_for(lambda p=pid, s=letter: _state(p) == s, f"node {i} ({pid}) in state {letter}")

    def kill(self, index: int, reap_now: bool = True) -> None:
        """SIGKILL a node this process forked itself; reap it now, or only wait until it is a zombie."""
        pid = self.pids[index]
        os.kill(pid, signal.SIGKILL)
        if reap_now:
            os.waitpid(pid, 0)
            self.top = [(p, fd) for p, fd in self.top if p != pid]
        else:
            os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)

    def reap(self, index: int) -> None:
        pid = self.pids[index]
        os.waitpid(pid, 0)
        self.top = [(p, fd) for p, fd in self.top if p != pid]

    def take_down(self) -> None:
        if self.pair is not None:
            self.pair.close()
        for i, pid in self.pids.items():
            if self.plan[i]["state"] == "T":
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        os.close(self.release_w)       # every waiting node: end-of-file, then it takes its children down
        for pid, fd in self.top:
            if fd is not None:
                os.close(fd)
            for i, p in self.pids.items():
                if p == pid and self.plan[i]["state"] in ("R", "T"):
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
        deadline = time.monotonic() + BUILD_DEADLINE
        for pid, _ in self.top:
            while time.monotonic() < deadline:
                try:
                    done, _ = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    break
                if done:
                    break
                time.sleep(0.002)
            else:
                try:
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
                except OSError:
                    pass


class _Pair:
    """P, a child of this process, with exactly two children A and B, made so that only a children list sorted
    as ints is right: list({A, B}) is in the other order for either insertion order (a set of two small ints
    iterates in slot order, pid % 8), and, when the test could move the kernel's pid counter (as root, through
    /proc/sys/kernel/ns_last_pid), sorting them as strings is wrong too ('12000' < '650'). P forks and kills its
    children on command, over two pipes; the children wait on the release pipe like every S node."""

    def __init__(self, release: int, names: list):
        self.cmd_r, self.cmd_w = os.pipe()
        self.rep_r, self.rep_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            self._serve(release, names)
        os.close(self.cmd_r)
        os.close(self.rep_w)
        self.pid = pid
        self.open = True

    def _serve(self, release: int, names: list) -> None:
        try:
            for fd in _HELD:
                os.close(fd)
            _HELD.clear()
            os.close(self.cmd_w)
            os.close(self.rep_r)
            _set_comm(names[0])
            kids = []
            commands = os.fdopen(self.cmd_r, "rb", buffering=0)
            for line in iter(commands.readline, b""):
                word = line.split()
                if not word or word[0] != b"f" and word[0] != b"k":
                    break
                if word[0] == b"f":
                    kid = os.fork()
                    if kid == 0:
                        try:
                            os.close(self.rep_w)
                            commands.close()
                            _set_comm(names[1])
                            while os.read(release, 1):
                                pass
                        finally:
                            os._exit(0)
                    kids.append(kid)
                    os.write(self.rep_w, f"{kid}\n".encode())
                else:
                    kid = int(word[1])
                    os.kill(kid, signal.SIGKILL)
                    os.waitpid(kid, 0)
                    kids.remove(kid)
                    os.write(self.rep_w, b"0\n")
            os.close(self.rep_w)
            commands.close()
            while os.read(release, 1):
                pass
            for kid in kids:
                os.waitpid(kid, 0)
        finally:
            os._exit(0)

    def _ask(self, line: bytes) -> int:
        os.write(self.cmd_w, line)
        buffer = b""
        deadline = time.monotonic() + BUILD_DEADLINE
        while not buffer.endswith(b"\n"):
            ready, _, _ = select.select([self.rep_r], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(self.rep_r, 64) if ready else b""
            if not chunk:
                raise RuntimeError("the grader's pair of processes did not answer (grader bug or overloaded machine)")
            buffer += chunk
        return int(buffer)

    def fork(self) -> int:
        return self._ask(b"f\n")

    def kill(self, kid: int) -> None:
        self._ask(f"k {kid}\n".encode())

    def close(self) -> None:
        if self.open:
            self.open = False
            os.close(self.cmd_w)
            os.close(self.rep_r)


def _set_order_wrong(a: int, b: int) -> bool:
    low, high = sorted((a, b))
    return list({a, b}) != [low, high] and list({b, a}) != [low, high]


def _str_order_wrong(a: int, b: int) -> bool:
    return sorted((str(a), str(b))) != [str(p) for p in sorted((a, b))]


def _make_pair(ctx, tree: "_Tree", gate: str, names: list) -> dict:
    pair = _Pair(tree.release_r, names)
    tree.top.append((pair.pid, None))
    tree.pair = pair
    a = pair.fork()
    for _ in range(8):                    # a % 8 in 1..6: B can land on either side of it, in the same 8 slots
        if a % 8 not in (0, 7):
            break
        pair.kill(a)
        a = pair.fork()
    ctx.event("pair", a=a)                # the test may move the pid counter now (root only)
    moved = pass_gate(gate, GATE_DEADLINE)
    b = pair.fork()
    for _ in range(40):
        if _set_order_wrong(a, b):
            break
        pair.kill(b)
        b = pair.fork()
    pair.close()
    ctx.event("paired")                   # the test puts the pid counter back
    return {"parent": pair.pid, "kids": sorted((a, b)), "set": _set_order_wrong(a, b),
            "str": _str_order_wrong(a, b), "gate": moved}


def _comm(pid: int):
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            line = f.read()
    except OSError:
        return None
    return line[line.index(b"(") + 1:line.rindex(b")")].decode(errors="replace")


# ------------------------------------------------------------------ the student's dict, made safe


def _rows(tree, pids: set) -> dict:
    """What the dict says about PIDS, and what is wrong with its shape anywhere (first few)."""
    out = {"type": type(tree).__name__, "rows": {}, "problems": [], "size": None}
    if not isinstance(tree, dict):
        return out
    out["size"] = len(tree)
    problems = out["problems"]
    keys = list(tree.keys())
    bad_keys = [k for k in keys if type(k) is not int]
    if bad_keys:
        problems.append(("key", repr(bad_keys[0])[:60], type(bad_keys[0]).__name__))
    for pid in keys:
        entry = tree[pid]
        if not isinstance(entry, dict):
            problems.append(("entry", repr(pid)[:30], type(entry).__name__))
            continue
        missing = [k for k in ("ppid", "comm", "state", "children") if k not in entry]
        if missing:
            problems.append(("fields", repr(pid)[:30], missing))
            continue
        kinds = {"ppid": int, "comm": str, "state": str, "children": list}
        wrong = [(k, type(entry[k]).__name__) for k, t in kinds.items() if type(entry[k]) is not t]
        if not wrong:
            wrong = [("children", f"a list holding a {type(c).__name__}") for c in entry["children"]
                     if type(c) is not int][:1]
        if wrong:
            problems.append(("types", repr(pid)[:30], wrong))
            continue
        if pid in pids:
            out["rows"][str(pid)] = {"ppid": entry["ppid"], "comm": entry["comm"], "state": entry["state"],
                                     "children": [c if type(c) is int else repr(c)[:30]
                                                  for c in entry["children"]][:200]}
        if len(problems) >= 5:
            break
    if not problems:
        # The children lists must say what the ppids say, in the same dict.
        for pid, entry in tree.items():
            kids = entry["children"]
            if kids != sorted(kids):
                problems.append(("unsorted", pid, kids[:10]))
            for c in kids:
                if c not in tree or tree[c]["ppid"] != pid:
                    problems.append(("child", pid, c, tree[c]["ppid"] if c in tree else None))
                    break
            parent = tree.get(entry["ppid"])
            if parent is not None and pid not in parent["children"]:
                problems.append(("orphaned", pid, entry["ppid"]))
            if len(problems) >= 5:
                break
    return out


def _reference_format(tree: dict, root: int, printable: bool = True, key=None) -> str:
    """The drawing the contract asks for (KEY=str: children wrongly ordered as strings)."""
    def label(pid):
        comm = tree[pid]["comm"]
        return ("".join(c if c.isprintable() else "?" for c in comm) if printable else comm) + f"({pid})"
    lines = []
    stack = [(root, "", "")]    # (pid, the prefix of its own line, the prefix its children share)
    while stack:
        pid, own, shared = stack.pop()
        lines.append(own + label(pid))
        kids = sorted(tree[pid]["children"], key=key)
        for i in range(len(kids) - 1, -1, -1):
            last = i == len(kids) - 1
            stack.append((kids[i], shared + ("└─" if last else "├─"), shared + ("  " if last else "│ ")))
    return "\n".join(lines)


# ------------------------------------------------------------------ vanishing mid-scan


class _Vanisher:
    """Make two processes vanish exactly when the student's code reaches for them (see the module doc)."""

    def __init__(self, tree: _Tree, enoent: int, esrch: int):
        self.tree, self.enoent, self.esrch = tree, enoent, esrch
        self.pid_enoent, self.pid_esrch = tree.pids[enoent], tree.pids[esrch]
        self.armed = False
        self.done = {"enoent": None, "esrch": None}   # None: not reached; else how it went
        self.pending = None                             # the thread whose open of V2 is under way
        sys.addaudithook(self._audit)

    def _audit(self, event, args):
        if not self.armed or event != "open" or not args:
            return
        path = args[0]
        if isinstance(path, bytes):
            path = path.decode(errors="replace")
        if not isinstance(path, str):
            return
        match = _PROC_PID.match(os.path.normpath(path))
        if not match:
            return
        pid = int(match.group(1))
        self.done["opened"] = self.done.get("opened", 0) + 1
        if pid == self.pid_enoent and self.done["enoent"] is None:
            self.done["enoent"] = path
            self.tree.kill(self.enoent)                 # gone before the open runs: ENOENT
        elif pid == self.pid_esrch and self.done["esrch"] is None:
            self.done["esrch"] = path
            self.tree.kill(self.esrch, reap_now=False)  # a zombie: the open still succeeds
            self.pending = threading.get_ident()        # reaped at the next event of this very thread

    def _profile(self, frame, event, arg):
        if self.pending != threading.get_ident():
            return                                      # nothing armed, or another thread (a pool's)
        name = frame.f_code.co_filename
        if name == HERE or name.startswith(HARNESS):
            return                                      # the audit hooks themselves: the open has not run yet
        self.pending = None
        self.tree.reap(self.esrch)                      # gone between open and read: ESRCH on read
        self.done["esrch_reaped"] = "between"

    def __enter__(self):
        self.armed = True
        sys.setprofile(self._profile)
        threading.setprofile(self._profile)
        return self

    def __exit__(self, *exc):
        self.armed = False
        sys.setprofile(None)
        threading.setprofile(None)
        if self.pending is not None:   # the open happened but no event followed: reap it now
            self.pending = None
            self.tree.reap(self.esrch)
            self.done["esrch_reaped"] = "after"
        for key, index in (("enoent", self.enoent), ("esrch", self.esrch)):
            if self.done[key] is None:      # never reached for: take it down anyway
                self.tree.kill(index)
        return False


# ------------------------------------------------------------------ the scenario


def _listed() -> set:
    return {int(n) for n in os.listdir("/proc") if n.isdigit()}


def _phantoms(tree, listed: set) -> list:
    """Keys of TREE that /proc listed neither before nor after the call, and that some entry names as its
    ppid: an entry made up for a parent /proc does not list (pid 0, or a parent hidden from you)."""
    if not isinstance(tree, dict):
        return []
    try:
        parents = {e.get("ppid") for e in tree.values() if isinstance(e, dict)}
    except TypeError:
        return []
    return sorted(k for k in tree if type(k) is int and k not in listed and k in parents)[:5]


def _fork_then_park(parked, forked: dict, release: int, name: str) -> None:
    """A second thread of the scenario's process: fork a child that sleeps until the tree is taken down, then stay
    alive (parked) until the first scan is over, so that the child stays the child of this thread."""
    try:
        pid = os.fork()
    except OSError:
        forked["pid"] = -1
        return
    if pid == 0:
        try:
            for fd in _HELD:
                os.close(fd)
            _set_comm(name)
            while os.read(release, 1):
                pass
        finally:
            os._exit(0)
    forked["pid"] = pid
    parked.wait(30)


def _synthetic(student) -> dict:
    live = set(osinspect.all_pids())
    base = 4_100_000
    while any(base + k in live for k in (0, 7, 31, 95)):
        base += 1
    # d has 8 digits: no live process has it (pids stop at 4194304), and it sorts first as a string ("10000..." <
    # "41000..."), last as an int.
    root, a, b, c, d = base, base + 7, base + 31, base + 95, 10_000_000 + base % 1000
    # Keys in an order that is neither the ints' nor the strings' (d, b, a): children taken from the dict's order
    # come out wrong.
    tree = {
        root: {"ppid": 1, "comm": " lead\tr", "state": "S", "children": [a, b, d]},
        d: {"ppid": root, "comm": "进程\x1b[0m", "state": "S", "children": []},
        b: {"ppid": root, "comm": "nl\nx\x7f", "state": "R", "children": []},
        a: {"ppid": root, "comm": "ta\tb\x01", "state": "S", "children": [c]},
        c: {"ppid": a, "comm": "c) S 1 (", "state": "T", "children": []},
    }
    expected = _reference_format(tree, root)
    expected_raw = _reference_format(tree, root, printable=False)
    try:
        drawn = student.format_tree({k: dict(v, children=list(v["children"])) for k, v in tree.items()}, root)
        drawn = drawn if isinstance(drawn, str) else {"type": type(drawn).__name__, "repr": repr(drawn)[:200]}
        return {"drawn": drawn, "expected": expected, "expected_raw": expected_raw,
                "expected_str": _reference_format(tree, root, key=str), "siblings": [a, b, d]}
    except NotImplementedError:
        return {"todo": True, "expected": expected, "expected_raw": expected_raw}
    except BaseException as exc:  # noqa: BLE001
        return {"raised": _describe(exc), "expected": expected, "expected_raw": expected_raw}


def scan(student, ctx, plan, newcomer, victims, gates, rename, pair_names):
    me = os.getpid()
    tree = _Tree(plan, ctx.tmp)
    try:
        first = [i for i, s in enumerate(plan) if s["parent"] == -1 and i != newcomer]
        tree.grow(first)
        pair = _make_pair(ctx, tree, gates[2], pair_names)
        ours = {me, *tree.pids.values(), pair["parent"], *pair["kids"]}

        # 1. Everything stands still.
        first_dict = None
        # A second thread in this process: its thread id has a /proc/TID directory too, but /proc does not
        # list it (only /proc/PID/task/ does), and it is not a process: it must not get an entry.
        # That thread also forks a child of this process and stays alive all through the scan: the child's ppid
        # (/proc/PID/stat) is this process, but /proc/ME/task/ME/children lists only the main thread's children.
        parked = threading.Event()
        forked = {}
        extra = threading.Thread(target=_fork_then_park, args=(parked, forked, tree.release_r, pair_names[0]),
                                 daemon=True)
        extra.start()
        thread_child = _wait_for(lambda: forked.get("pid"), "the child forked by a second thread")
        if thread_child > 0:
            tree.top.append((thread_child, None))
            _wait_for(lambda: _state(thread_child) == "S" and _comm(thread_child) == _kept(pair_names[0]),
                      "the child forked by a second thread, asleep")
        ours.add(thread_child)
        listed = _listed()
        try:
            got = first_dict = student.process_tree()
        except NotImplementedError:
            raise
        except BaseException as exc:  # noqa: BLE001
            ctx.event("scanned", round=1, me=me, pids=tree.pids, pair=pair, raised=_describe(exc))
        else:
            report = _rows(got, ours)
            after = _listed()
            report["phantom"] = _phantoms(got, listed | after)
            # Listed before and after the call: alive all through the scan, so it must have an entry.
            report["unlisted"] = [(p, _comm(p)) for p in sorted(listed & after)
                                  if isinstance(got, dict) and p not in got][:3]
            report["thread_entry"] = extra.native_id if isinstance(got, dict) and extra.native_id in got else None
            report["thread_of"] = me
            report["thread_child"] = thread_child
            report["thread_tid"] = extra.native_id
            ctx.event("scanned", round=1, me=me, pids=tree.pids, pair=pair, raised=None, **report)
        parked.set()
        extra.join(1.0)
        if not pass_gate(gates[0], GATE_DEADLINE):
            return {"gate": "timeout"}

        # format_tree on the grader's own dict of the subtree (from what it planned and made).
        root = [i for i, s in enumerate(plan) if s["parent"] == -1 and i not in victims and i != newcomer][0]
        mine = {}
        for i, pid in tree.pids.items():
            parent = me if plan[i]["parent"] == -1 else tree.pids[plan[i]["parent"]]
            mine[pid] = {"ppid": parent, "comm": _kept(plan[i]["name"]), "state": plan[i]["state"], "children": []}
        mine[me] = {"ppid": os.getppid(), "comm": "python3", "state": "R", "children": []}
        for pid in sorted(mine):
            parent = mine.get(mine[pid]["ppid"])
            if parent is not None and pid != me:
                parent["children"].append(pid)
        expected = _reference_format(mine, tree.pids[root])
        expected_raw = _reference_format(mine, tree.pids[root], printable=False)
        try:
            drawn = student.format_tree(mine, tree.pids[root])
            drawn = drawn if isinstance(drawn, str) else {"type": type(drawn).__name__, "repr": repr(drawn)[:200]}
            formatted = {"drawn": drawn, "expected": expected, "expected_raw": expected_raw}
        except NotImplementedError:
            formatted = {"todo": True, "expected": expected, "expected_raw": expected_raw}
        except BaseException as exc:  # noqa: BLE001
            formatted = {"raised": _describe(exc), "expected": expected, "expected_raw": expected_raw}

        # format_tree on a hand-made tree that no live process matches (pids /proc does not list): it must draw
        # the dict it is given. Every kind of unprintable character, and a root whose name starts with a space.
        formatted["synthetic"] = _synthetic(student)

        # 2. This process renames itself (what call 1 saw of it is stale now), a newcomer is forked, and two
        # processes vanish mid-scan.
        _set_comm(rename)
        tree.grow([newcomer])
        vanisher = _Vanisher(tree, *victims)
        raised = None
        got = None
        with vanisher:
            try:
                got = student.process_tree()
            except NotImplementedError:
                raise
            except BaseException as exc:  # noqa: BLE001
                raised = _describe(exc)
        ours = {me, *tree.pids.values(), pair["parent"], *pair["kids"]}
        report = _rows(got, ours) if raised is None else {}
        report["same_dict"] = got is not None and got is first_dict
        ctx.event("scanned", round=2, me=me, pids=tree.pids, pair=pair, raised=raised, vanished=vanisher.done,
                  format=formatted, **report)
        pass_gate(gates[1], GATE_DEADLINE)
        return {"done": True}
    finally:
        tree.take_down()
