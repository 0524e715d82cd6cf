"""Correct, style: text mode done right. open(..., encoding="utf-8", newline="") keeps "" and
"
" as they are; str.rfind(")") finds the end of comm; children are filled from a
collections.defaultdict; format_tree uses str.translate-free character mapping and
an accumulating recursive function."""

import collections
import os


def _stat(pid):
    with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace", newline="") as f:
        text = f.read()
    close = text.rfind(")")
    fields = text[close + 2:].split(" ")
    return {"ppid": int(fields[1]), "comm": text[text.find("(") + 1:close], "state": fields[0],
            "children": []}


def process_tree() -> dict[int, dict]:
    tree = {}
    for name in sorted(os.listdir("/proc"), key=lambda n: (not n.isdigit(), n)):
        if not name.isdigit():
            continue
        try:
            tree[int(name)] = _stat(name)
        except (FileNotFoundError, ProcessLookupError):
            pass
    by_parent = collections.defaultdict(list)
    for pid, entry in tree.items():
        by_parent[entry["ppid"]].append(pid)
    for pid, entry in tree.items():
        entry["children"] = sorted(by_parent.get(pid, []))
    return tree


def format_tree(tree: dict[int, dict], root: int) -> str:
    out = []

    def visit(pid, line_prefix, child_prefix):
        comm = tree[pid]["comm"]
        shown = "".join(ch if ch.isprintable() else "?" for ch in comm)
        out.append(line_prefix + shown + "(%d)" % pid)
        kids = sorted(tree[pid]["children"])
        for kid in kids[:-1]:
            visit(kid, child_prefix + "├─", child_prefix + "│ ")
        if kids:
            visit(kids[-1], child_prefix + "└─", child_prefix + "  ")

    visit(root, "", "")
    return "\n".join(out)
