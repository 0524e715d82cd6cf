"""Build the process tree from /proc, as ps and pstree do.

process_tree() reads pid, comm, state and ppid of every process from /proc/PID/stat and links
each process to its parent; format_tree() draws a subtree of it like `pstree -p`.
"""

import os


def _read_stat(pid: int):
    """(ppid, comm, state) of pid, or None when the process is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            line = f.read()
    except (FileNotFoundError, ProcessLookupError):
        # Gone before we opened its stat (ENOENT), or between our open and our read: the kernel
        # answers ESRCH once the descriptor has been released.
        return None
    # "4242 (comm) S 4100 ...": comm is whatever the process named itself, up to 15 bytes,
    # ")" and spaces included, so it ends at the LAST ")" of the line.
    start, end = line.index(b"("), line.rindex(b")")
    # The kernel keeps the first 15 bytes of a name, even if that cuts a character in two, and a name need not
    # be UTF-8 at all: errors="replace" turns each broken sequence into U+FFFD instead of raising.
    comm = line[start + 1:end].decode("utf-8", errors="replace")
    fields = line[end + 2:].split()
    return int(fields[1]), comm, fields[0].decode()


def process_tree() -> dict[int, dict]:
    tree = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue                      # /proc/self, /proc/meminfo, ...
        pid = int(name)
        stat = _read_stat(pid)
        if stat is None:
            continue
        ppid, comm, state = stat
        tree[pid] = {"ppid": ppid, "comm": comm, "state": state, "children": []}
    # Link children only now, from this one snapshot: a parent seen in the scan gets exactly the
    # entries that name it as ppid, in increasing order of the int pids (as strings, "12000" < "650").
    for pid in sorted(tree):
        parent = tree.get(tree[pid]["ppid"])
        if parent is not None:
            parent["children"].append(pid)
    return tree


def _label(tree: dict[int, dict], pid: int) -> str:
    comm = "".join(c if c.isprintable() else "?" for c in tree[pid]["comm"])
    return f"{comm}({pid})"


def format_tree(tree: dict[int, dict], root: int) -> str:
    # A stack of our own rather than one recursive call per level: a chain of processes can be thousands of
    # levels deep, and Python stops at about 1000 nested calls (RecursionError).
    lines = []
    stack = [(root, "", "")]      # (pid, the prefix of its own line, the prefix its children share)
    while stack:
        pid, own, shared = stack.pop()
        lines.append(own + _label(tree, pid))
        children = sorted(tree[pid]["children"])       # ints: 120 before 1000
        # Pushed last child first, so that the smallest pid is popped (drawn) first: depth first, in order.
        for i in range(len(children) - 1, -1, -1):
            last = i == len(children) - 1
            stack.append((children[i], shared + ("└─" if last else "├─"), shared + ("  " if last else "│ ")))
    return "\n".join(lines)
