"""Build the process tree from /proc, as ps and pstree do.

For every process the kernel keeps a process descriptor (进程描述符, struct task_struct in its
source): the process ID (进程标识), the parent's ID, the command name, the state and much more.
Every process but the first has a parent, so together they form a tree (进程树). /proc shows a
part of each descriptor as one line of text, /proc/PID/stat:

    4242 (python3) S 4100 4242 4100 ...
    pid  (comm)    state ppid ...

Read exercises/01_processes/README.md first.

Contract
--------
process_tree() -> dict[int, dict]

* Scans /proc afresh on every call (keep nothing from an earlier call: a process may rename itself
  between two calls) and returns a new dict with one entry for every process that /proc lists
  (every directory whose name is a number), keyed by its pid (an int):
      {"ppid": int, "comm": str, "state": str, "children": list[int]}
* ppid, comm and state come from /proc/PID/stat. comm is everything between the first "(" and
  the LAST ")" of that line, exactly as the kernel keeps it: a process may name itself anything
  up to 15 bytes, spaces, parentheses, ") R 1 (" and newlines included, so take the fields that
  follow from after the last ")".
* comm is decoded with .decode("utf-8", errors="replace"): the kernel keeps only the first 15
  bytes of a name, which may cut a character in two, and a name may hold bytes that are not
  UTF-8 at all; each broken sequence becomes "\\ufffd" (U+FFFD) and the scan goes on.
* state is the one-letter state that follows comm: R, S, D, T, t, Z, I...
* children holds the pids of the entries whose ppid is this pid, in increasing order as ints
  (650 before 12000; [] for none), whichever thread of the parent forked them. A process
  whose parent has no entry (pid 1 and kthreadd have ppid 0; a parent that /proc hides from
  you) keeps its ppid and is in nobody's children.
* Processes come and go while you scan. A process that /proc listed may be gone when you open
  its stat (FileNotFoundError), or when you read it (ProcessLookupError): leave it out and go
  on. Never let such an exception escape.

format_tree(tree, root) -> str

* Draws the subtree of pid `root` of `tree` (a dict like those process_tree returns), one line
  per process, depth first, children in increasing pid order, like `pstree -p` would with one
  process per line. It draws the dict it is given (never a fresh scan). A line is a prefix,
  then comm, then the pid in parentheses:

      bash(100)
      ├─python3(120)
      │ ├─a) b (c(130)
      │ └─sleep(131)
      └─vim(121)
        └─sh(140)

  The root's line has no prefix. Each child's line starts with the prefix its parent's children
  share, then "├─", or "└─" for the last child; the prefix its own children share is that same
  shared prefix followed by "│ " ("  " below the last child).
* A character of comm that is not printable (str.isprintable() is false: a newline, a tab) is
  drawn as "?", as ps does. The lines are joined with "\\n", with no newline at the end.
"""

import os  # noqa: F401  (os.listdir, open)


def process_tree() -> dict[int, dict]:
    # TODO: list /proc, read each /proc/PID/stat (skip processes that vanish), parse it from the
    # last ")", then fill in every entry's children.
    raise NotImplementedError("process_tree")


def format_tree(tree: dict[int, dict], root: int) -> str:
    # TODO: one line for root, then its children depth first, with the prefixes described above.
    raise NotImplementedError("format_tree")
