"""Correct, style: functional with pathlib. Path.iterdir()/read_bytes(), bytes.rpartition at
the last ")", children grouped with itertools.groupby over (ppid, pid) pairs; format_tree
builds the prefixes level by level with a helper that returns lists."""

import itertools
import pathlib


def _parse(raw):
    head, _, tail = raw.rpartition(b")")
    comm = head.partition(b"(")[2]
    state, ppid = tail.split()[:2]
    return int(ppid), comm.decode("utf-8", errors="replace"), state.decode()


def _stat(path):
    try:
        return _parse((path / "stat").read_bytes())
    except (FileNotFoundError, ProcessLookupError):
        return None


def process_tree() -> dict[int, dict]:
    found = {int(p.name): s for p in pathlib.Path("/proc").iterdir()
             if p.name.isdigit() and (s := _stat(p)) is not None}
    pairs = sorted((ppid, pid) for pid, (ppid, _, _) in found.items() if ppid in found)
    kids = {ppid: [pid for _, pid in grp] for ppid, grp in itertools.groupby(pairs, key=lambda t: t[0])}
    return {pid: {"ppid": ppid, "comm": comm, "state": state, "children": kids.get(pid, [])}
            for pid, (ppid, comm, state) in found.items()}


def _draw(tree, pid):
    """Lines of the subtree of pid, the first without prefix."""
    name = "".join(map(lambda c: c if c.isprintable() else "?", tree[pid]["comm"]))
    lines = [f"{name}({pid})"]
    kids = sorted(tree[pid]["children"])
    for n, kid in enumerate(kids):
        first, *rest = _draw(tree, kid)
        last = n == len(kids) - 1
        lines.append(("└─" if last else "├─") + first)
        lines.extend(("  " if last else "│ ") + line for line in rest)
    return lines


def format_tree(tree: dict[int, dict], root: int) -> str:
    return "\n".join(_draw(tree, root))
