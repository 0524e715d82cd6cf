"""Style: the correct program of the second tester, who saw only the stub and the README; their mutants are
patches of it, one bug each (graders/mutants/ptree/*.patch)."""

import os


def process_tree() -> dict[int, dict]:
    tree = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/" + name + "/stat", "rb") as f:
                data = f.read()
        except (FileNotFoundError, ProcessLookupError):
            continue
        left = data.index(b"(")
        right = data.rindex(b")")
        comm = data[left + 1:right].decode("utf-8", errors="replace")
        rest = data[right + 1:].split()
        tree[int(name)] = {"ppid": int(rest[1]), "comm": comm, "state": rest[0].decode(),
                           "children": []}
    for pid in sorted(tree):
        parent = tree.get(tree[pid]["ppid"])
        if parent is not None:
            parent["children"].append(pid)
    return tree


def _label(comm):
    return "".join(c if c.isprintable() else "?" for c in comm)


def format_tree(tree: dict[int, dict], root: int) -> str:
    lines = []
    stack = [(root, "", "")]            # (pid, prefix of its own line, prefix its children share)
    while stack:
        pid, mine, shared = stack.pop()
        lines.append("%s%s(%d)" % (mine, _label(tree[pid]["comm"]), pid))
        kids = sorted(tree[pid]["children"])
        for i in range(len(kids) - 1, -1, -1):
            last = i == len(kids) - 1
            stack.append((kids[i], shared + ("└─" if last else "├─"),
                          shared + ("  " if last else "│ ")))
    return "\n".join(lines)
