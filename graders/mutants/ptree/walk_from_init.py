"""Bug: builds the tree by walking down from pid 1 through the children, so processes not below pid 1 (kthreadd, pid 2, and every kernel thread) get no entry, breaking 'one entry for every process that /proc lists'."""

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
    result, todo = {}, [1]             # everything descends from init
    while todo:
        pid = todo.pop()
        if pid in tree:
            result[pid] = tree[pid]
            todo.extend(tree[pid]["children"])
    return result


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
