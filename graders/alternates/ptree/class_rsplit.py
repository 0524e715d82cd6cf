"""Correct, style: object-oriented. A ProcessTable class reads each /proc/PID/stat in binary
and splits it with rsplit(b") ", 1) (the last ") " always ends comm); format_tree walks with an
explicit stack instead of recursion."""

import os


class _ProcessTable:
    def __init__(self):
        self.entries = {}

    @staticmethod
    def _read(pid):
        with open(f"/proc/{pid}/stat", "rb", buffering=0) as f:
            return f.read()

    def add(self, pid):
        try:
            raw = self._read(pid)
        except (FileNotFoundError, ProcessLookupError):
            return
        head, tail = raw.rsplit(b") ", 1)
        comm = head.split(b"(", 1)[1]
        state, ppid = tail.split(b" ", 2)[:2]
        self.entries[pid] = {"ppid": int(ppid), "comm": comm.decode("utf-8", "replace"),
                             "state": state.decode(), "children": []}

    def link(self):
        for pid in sorted(self.entries):
            parent = self.entries.get(self.entries[pid]["ppid"])
            if parent is not None:
                parent["children"].append(pid)
        return self.entries


def process_tree() -> dict[int, dict]:
    table = _ProcessTable()
    for name in os.listdir("/proc"):
        if name.isdecimal():
            table.add(int(name))
    return table.link()


def format_tree(tree: dict[int, dict], root: int) -> str:
    out = []
    stack = [(root, "", "")]
    while stack:
        pid, own, shared = stack.pop()
        name = "".join(c if c.isprintable() else "?" for c in tree[pid]["comm"])
        out.append(f"{own}{name}({pid})")
        kids = sorted(tree[pid]["children"])
        pushed = []
        for i, kid in enumerate(kids):
            last = i == len(kids) - 1
            pushed.append((kid, shared + ("└─" if last else "├─"), shared + ("  " if last else "│ ")))
        stack.extend(reversed(pushed))
    return "\n".join(out)
