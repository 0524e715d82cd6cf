"""Bug: splits the stat line on whitespace and takes comm as the second word, so a name with a space shifts every field (here int() of the state letter raises ValueError), breaking 'comm is everything between the first "(" and the LAST ")" ... take the fields that follow from after the last ")"'."""

import os


def _entry(pid):
    with open(f"/proc/{pid}/stat", "rb") as f:
        parts = f.read().decode("utf-8", "replace").split()
    return {"ppid": int(parts[3]), "comm": parts[1][1:-1], "state": parts[2], "children": []}


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
