"""Bug: parses the stat line with a regular expression without re.DOTALL, so '.' does not match the newline of a name like 'new
line', the match is None and an AttributeError escapes, breaking 'a process may name itself anything ... newlines included'."""

import re
import os


_STAT = re.compile(rb"(\d+) \((.*)\) (\S) (-?\d+)")


def _entry(pid):
    with open(f"/proc/{pid}/stat", "rb") as f:
        m = _STAT.match(f.read())
    return {"ppid": int(m.group(4)), "comm": m.group(2).decode("utf-8", "replace"),
            "state": m.group(3).decode(), "children": []}


def process_tree() -> dict[int, dict]:
    tree = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        try:
            tree[pid] = _entry(pid)
        except (FileNotFoundError, ProcessLookupError):
            continue                   # it ended while we were looking
    for pid in sorted(tree):
        ppid = tree[pid]["ppid"]
        if ppid in tree:
            tree[ppid]["children"].append(pid)
    return tree


def format_tree(tree: dict[int, dict], root: int) -> str:
    lines = []

    def draw(pid, prefix, branch):
        comm = "".join(ch if ch.isprintable() else "?" for ch in tree[pid]["comm"])
        lines.append(branch + comm + "(" + str(pid) + ")")
        kids = sorted(tree[pid]["children"])
        for i, kid in enumerate(kids):
            last = i == len(kids) - 1
            draw(kid, prefix + ("  " if last else "│ "), prefix + ("└─" if last else "├─"))

    draw(root, "", "")
    return "\n".join(lines)
