"""Mutants (plausible wrong implementations) and alternates (correct ones in other styles), for verify.

A mutant that is a small change of the solution is stored as that change: `graders/mutants/<id>/<bug>.patch`,
a unified diff against `solutions/<topic>/<file>` whose first line is `# Bug: <one sentence>`. A family of
mutants that a blind writer wrote around a correct program of their own is stored as that program (an
alternate, which verify proves correct) plus one patch per bug against it: the patch's second line is
`# Against: alternates/<id>/<style>.py` (relative to graders/). One that differs throughout is a whole
file, `<bug>.py`, whose docstring names its bug. Correct alternates live in
`graders/alternates/<id>/<style>.py`.
"""

import glob
import os
import re

from graders.harness import catalogue

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


class PatchError(Exception):
    pass


def apply_patch(original: str, patch: str) -> str:
    """Apply a unified diff to ORIGINAL; every context and removed line must match exactly."""
    old = original.splitlines(keepends=True)
    out: list[str] = []
    at = 0  # next line of `old` not yet copied
    lines = patch.splitlines(keepends=True)
    i = 0
    while i < len(lines) and not lines[i].startswith("@@"):
        i += 1
    while i < len(lines):
        match = _HUNK.match(lines[i])
        if not match:
            raise PatchError(f"expected a hunk header, got {lines[i]!r}")
        start = int(match.group(1)) - (0 if match.group(2) == "0" else 1)
        if start < at:
            raise PatchError("hunks overlap or are out of order")
        out += old[at:start]
        at = start
        i += 1
        while i < len(lines) and not lines[i].startswith("@@"):
            line = lines[i]
            tag, text = line[:1], line[1:]
            if line.startswith("\\"):  # "\ No newline at end of file"
                i += 1
                continue
            if tag in (" ", "-"):
                if at >= len(old) or old[at].rstrip("\n") != text.rstrip("\n"):
                    got = old[at] if at < len(old) else "end of file"
                    raise PatchError(f"line {at + 1} is {got!r}, the patch expects {text!r}: the solution changed; "
                                     "redo the patch against it")
                if tag == " ":
                    out.append(old[at])
                at += 1
            elif tag == "+":
                out.append(text if text.endswith("\n") else text + "\n")
            elif line.strip():
                raise PatchError(f"unexpected patch line {line!r}")
            i += 1
    return "".join(out + old[at:])


def mutant_files(ex: catalogue.Exercise) -> list[str]:
    return sorted(glob.glob(os.path.join(ex.mutants_dir, "*.py")) + glob.glob(os.path.join(ex.mutants_dir, "*.patch")))


def alternate_files(ex: catalogue.Exercise) -> list[str]:
    return sorted(glob.glob(os.path.join(ex.home, "alternates", ex.id, "*.py")))


def bug_of(path: str) -> str:
    """The one-line bug description of a mutant ('' when it has none)."""
    with open(path) as f:
        text = f.read()
    if path.endswith(".patch"):
        first = text.splitlines()[0] if text else ""
        return first[len("# Bug:"):].strip() if first.startswith("# Bug:") else ""
    import ast
    try:
        doc = ast.get_docstring(ast.parse(text)) or ""
    except SyntaxError:
        return ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def base_of(ex: catalogue.Exercise, path: str, repo: str = catalogue.REPO) -> str:
    """The file a .patch mutant changes: the solution, or the alternate its `# Against:` line names."""
    with open(path) as f:
        head = f.read().splitlines()[:2]
    against = [line[len("# Against:"):].strip() for line in head if line.startswith("# Against:")]
    if not against:
        return os.path.join(repo, "solutions", ex.topic, ex.file)
    base = os.path.normpath(os.path.join(repo, "graders", against[0]))
    if os.path.dirname(base) != os.path.join(repo, "graders", "alternates", ex.id) or not base.endswith(".py"):
        raise PatchError(f"`# Against: {against[0]}` must name an alternate of {ex.id}: alternates/{ex.id}/<style>.py")
    return base


def materialize(ex: catalogue.Exercise, path: str, dest_dir: str, repo: str = catalogue.REPO) -> str:
    """A gradable file for a mutant: the .py itself, or its base (the solution or an alternate) with the
    .patch applied (named <bug>.py in DEST_DIR, so reports show the bug's name)."""
    if path.endswith(".py"):
        return path
    base = base_of(ex, path, repo)
    if not os.path.isfile(base):
        raise PatchError(f"{os.path.relpath(base, repo)}, which the patch changes, does not exist")
    with open(base) as f:
        original = f.read()
    with open(path) as f:
        patched = apply_patch(original, f.read())
    dest = os.path.join(dest_dir, os.path.basename(path)[:-len(".patch")] + ".py")
    with open(dest, "w") as f:
        f.write(patched)
    return dest
