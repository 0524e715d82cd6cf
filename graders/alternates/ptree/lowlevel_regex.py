"""Correct, style: low level. os.scandir() lists /proc, os.open()/os.read() read the stat
file, a DOTALL regular expression (greedy .* up to the last ")") parses it; format_tree is a
recursive generator."""

import os
import re

_STAT = re.compile(rb"\A(\d+) \((.*)\) (\S) (-?\d+) ", re.DOTALL)


def _read(path):
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        chunks = []
        while True:
            b = os.read(fd, 1024)
            if not b:
                return b"".join(chunks)
            chunks.append(b)
    finally:
        os.close(fd)


def process_tree() -> dict[int, dict]:
    out = {}
    with os.scandir("/proc") as it:
        for ent in it:
            if not ent.name.isdigit():
                continue
            try:
                raw = _read(f"/proc/{ent.name}/stat")
            except (FileNotFoundError, ProcessLookupError):
                continue
            m = _STAT.match(raw)
            out[int(ent.name)] = {"ppid": int(m.group(4)), "comm": m.group(2).decode("utf-8", "replace"),
                                  "state": m.group(3).decode("ascii"), "children": []}
    for pid in sorted(out):
        if out[pid]["ppid"] in out:
            out[out[pid]["ppid"]]["children"].append(pid)
    return out


def _lines(tree, pid, own, shared):
    comm = "".join("?" if not c.isprintable() else c for c in tree[pid]["comm"])
    yield own + comm + "(" + str(pid) + ")"
    kids = sorted(tree[pid]["children"])
    for kid in kids:
        last = kid == kids[-1]
        yield from _lines(tree, kid, shared + ("└─" if last else "├─"), shared + ("  " if last else "│ "))


def format_tree(tree: dict[int, dict], root: int) -> str:
    return "\n".join(_lines(tree, root, "", ""))
