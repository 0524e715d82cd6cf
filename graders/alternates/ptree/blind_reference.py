"""Style: the plain correct program of one who saw only the stub and the README. The mutants they wrote are
patches of it, one bug each (graders/mutants/ptree/*.patch): verify grades it as an alternate, so each patch is
exactly one bug away from a program that passes."""

import os


def _entry(pid):
    with open(f"/proc/{pid}/stat", "rb") as f:
        data = f.read()
    start = data.index(b"(")
    end = data.rindex(b")")
    comm = data[start + 1:end].decode("utf-8", "replace")
    fields = data[end + 2:].split()
    return {"ppid": int(fields[1]), "comm": comm, "state": fields[0].decode(), "children": []}


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
