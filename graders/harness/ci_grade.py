"""What .github/workflows/grade.yml does on GitHub Actions: a student's exercises/, graded by pristine graders.

The workflow checks out the student's push into student/ and the graders into grader/: the template repository
at the ref the instructor pinned (the variables PROCLAB_TEMPLATE and PROCLAB_REF), or, when they are not set,
the push itself again. Then, in grader/:

    python -m graders.harness.ci_grade install                      the grader tree's `grade` dependency group
    sudo ... python -m graders.harness.ci_grade grade --student ../student

`grade` says which graders grade the push, warns when the push changes the files grading uses (they are not
used), copies the student's graded files (those of the grader tree's catalogue, ordinary files under
exercises/ only) over the grader tree's stubs, grades them with the harness, and writes .grade/ and, on
GitHub Actions, the step summary, the annotations and one Classroom result per exercise (graders/harness/
report.py). A file that is refused earns nothing and its exercise says why.

Nothing here needs more than the standard library, so `install` runs before the dependencies are there.
"""

import argparse
import contextlib
import hashlib
import json
import os
import signal
import stat
import subprocess
import sys
import tomllib
from dataclasses import dataclass

from graders.harness import catalogue, report, sanitize, scoring, submission
from graders.harness.outcome import ERROR, PASS

TEMPLATE_VAR, REF_VAR, COMMIT_VAR = "PROCLAB_TEMPLATE", "PROCLAB_REF", "PROCLAB_COMMIT"
# What decides a grade besides the student's exercises/: a push that changes these is warned about.
# All of .github/workflows/: a workflow of the student's own could post results to Classroom too.
GRADING_FILES = ("graders", "noxfile.py", "pyproject.toml", ".github/workflows")
LISTED = 20  # changed paths named in the warning; the step summary names up to SUMMARY_LISTED
SUMMARY_LISTED = 200
GRADE_ALLOWANCE = 60.0  # seconds for the harness to start and report, besides PER_EXERCISE each
PER_EXERCISE = 90.0
INSTALL_TIMEOUT = 600.0
HOW_TO_SET = ("Instructors: set both as repository or organisation variables (Settings > Secrets and variables > "
              f"Actions > Variables): {TEMPLATE_VAR} = owner/name of the template repository, {REF_VAR} = a tag "
              "or commit of it.")


def say(line: str = "") -> None:
    print(line, flush=True)


def command(kind: str, title: str, message: str, file: str | None = None) -> None:
    """A workflow command (::warning, ::error) on one line, every value escaped as actions/toolkit does."""
    props = ([f"file={sanitize.workflow_property(file)}"] if file else []) + [
        f"title={sanitize.workflow_property(title)}"]
    say(f"::{kind} {','.join(props)}::{sanitize.workflow_data(message, 4000)}")


@dataclass(frozen=True)
class Origin:
    """Where the graders come from, as the workflow's variables say."""

    template: str = ""
    ref: str = ""
    commit: str = ""

    @classmethod
    def from_env(cls) -> "Origin":
        return cls(*(os.environ.get(name, "").strip() for name in (TEMPLATE_VAR, REF_VAR, COMMIT_VAR)))

    @property
    def pinned(self) -> bool:
        return bool(self.template and self.ref)

    def describe(self) -> str:
        if not self.pinned:
            return "the graders of this push itself"
        commit = f" (commit {self.commit[:12]})" if self.commit and not self.commit.startswith(self.ref) else ""
        return sanitize.text(f"the template {self.template} at {self.ref}{commit}", 300)


def announce(origin: Origin) -> list[str]:
    """Say in the log which graders grade this push; return the step summary's lines about it."""
    if origin.pinned:
        say(f"Graded by {origin.describe()}: your files in exercises/ come from this push; graders/, the harness, "
            "noxfile.py and pyproject.toml come from the template.")
        return [f"Graded by {sanitize.markdown_cell(origin.describe(), 300)}; the files in exercises/ come from "
                "this push."]
    if origin.template or origin.ref:
        have, missing = (TEMPLATE_VAR, REF_VAR) if origin.template else (REF_VAR, TEMPLATE_VAR)
        message = (f"{have} is set but {missing} is not, so this push was graded with its own graders/, "
                   f"noxfile.py and harness, which anyone who pushes can edit. {HOW_TO_SET}")
        command("error", f"{missing} is not set", message)
    else:
        message = (f"{TEMPLATE_VAR} and {REF_VAR} are not set, so this push was graded with its own graders/, "
                   f"noxfile.py and harness, which anyone who pushes can edit. {HOW_TO_SET}")
        command("warning", "Graded with this push's own graders", message)
    return [f"**Graded by the graders of this push itself**, not by a pinned template: "
            f"{sanitize.markdown_cell(message, 1000)}"]


# --- the files grading uses, the push's against the template's ---------------------------------------------

def _signature(path: str, st: os.stat_result) -> tuple:
    """What a file is, for comparing two trees: a link by its text, a regular file by its size and bytes."""
    if stat.S_ISLNK(st.st_mode):
        return ("link", os.readlink(path))
    if not stat.S_ISREG(st.st_mode):
        return ("special", stat.S_IFMT(st.st_mode))
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        while chunk := os.read(fd, 1 << 20):
            digest.update(chunk)
    finally:
        os.close(fd)
    return ("file", st.st_size, digest.hexdigest())


def _files(root: str, top: str) -> dict[str, os.stat_result]:
    """The files (and symbolic links, not followed) at ROOT/TOP, or below it when it is a real folder, by path
    relative to ROOT. Python's caches are not compared: grading writes them."""
    found = {}
    start = os.path.join(root, top)
    try:
        st = os.lstat(start)
    except FileNotFoundError:
        return found
    if not stat.S_ISDIR(st.st_mode):
        return {top: st}
    for folder, dirs, names in os.walk(start):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in names + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            if name.endswith(".pyc"):
                continue
            path = os.path.join(folder, name)
            found[os.path.relpath(path, root).replace(os.sep, "/")] = os.lstat(path)
        dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(folder, d))]
    return found


def changed_paths(student: str, template: str, tops=GRADING_FILES) -> list[str]:
    """The paths under TOPS that differ between the two trees, sorted, each with `(added)` or `(removed)` when
    it is in only one of them."""
    changed = []
    for top in tops:
        mine, theirs = _files(student, top), _files(template, top)
        for path in sorted(set(mine) | set(theirs)):
            if path not in theirs:
                changed.append(f"{path} (added)")
            elif path not in mine:
                changed.append(f"{path} (removed)")
            elif (mine[path].st_size != theirs[path].st_size and stat.S_ISREG(mine[path].st_mode)
                  and stat.S_ISREG(theirs[path].st_mode)):
                changed.append(path)
            elif (_signature(os.path.join(student, path), mine[path])
                  != _signature(os.path.join(template, path), theirs[path])):
                changed.append(path)
    return changed


def warn_changed(changed: list[str], origin: Origin) -> list[str]:
    """The ::warning naming the changed grading files; return the step summary's lines about them."""
    if not changed:
        return []
    shown = ", ".join(changed[:LISTED]) + (f" and {len(changed) - LISTED} more" if len(changed) > LISTED else "")
    command("warning", "This push changes the files that grading uses",
            f"This push changes {len(changed)} file(s) that grading uses, and they were not used: the grade comes "
            f"from {origin.describe()}. Changed: {shown}. Put them back as the template has them (the instructor "
            "sees this warning too).")
    lines = [f"**Warning:** this push changes {len(changed)} file(s) that grading uses; they were not used:", ""]
    lines += [f"- {sanitize.markdown_cell(path, 300)}" for path in changed[:SUMMARY_LISTED]]
    if len(changed) > SUMMARY_LISTED:
        lines.append(f"- and {len(changed) - SUMMARY_LISTED} more")
    return lines


# --- the student's graded files into the grader tree --------------------------------------------------------

def _parts(relpath: str) -> list[str]:
    parts = relpath.split("/")
    if len(parts) != 3 or parts[0] != "exercises" or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"the catalogue names {relpath!r}, which is not a file of a topic folder in exercises/")
    return parts


def _link_problem(student: str, relpath: str) -> str | None:
    """Why ROOT/RELPATH is not graded when it, or a folder on the way to it, is a symbolic link; None otherwise
    (a missing file, too large a file and the like are refused by submission.read_graded_file)."""
    parts = _parts(relpath)
    path = student
    for n, part in enumerate(parts, 1):
        path = os.path.join(path, part)
        try:
            st = os.lstat(path)
        except OSError:
            return None
        if not stat.S_ISLNK(st.st_mode):
            continue
        shown, target = "/".join(parts[:n]), os.readlink(path)
        if n == len(parts):
            return (f"{relpath} is a symbolic link (to {target}): CI grades only ordinary files committed in "
                    f"exercises/; put your code in the file itself (git checkout -- {relpath} restores the stub)")
        return (f"{shown} is a symbolic link (to {target}), so {relpath} was not graded: CI grades only ordinary "
                f"files in ordinary folders of exercises/; replace the link with a folder holding your files")
    return None


def copy_exercises(student: str, tree: str, exercises) -> dict[str, str]:
    """Each exercise's file from STUDENT into TREE (exercises/<topic>/<file>, replacing the stub); return
    {exercise id: the sentence it was refused with} for the files that are not ordinary files inside
    STUDENT/exercises/. TREE keeps no file for those, so nothing of them is graded."""
    refused = {}
    for ex in exercises:
        problem = _link_problem(student, ex.relpath)
        if problem:
            refused[ex.id] = problem
    wanted = [ex for ex in exercises if ex.id not in refused]
    if os.path.realpath(student) != os.path.realpath(tree):
        not_copied = submission.private_copy(student, tree, [ex.relpath for ex in wanted])
    else:  # grading the push with its own graders: the files are already in place; read them all the same
        not_copied = {}
        for ex in wanted:
            try:
                submission.read_graded_file(student, ex.relpath)
            except submission.BadSubmission as exc:
                not_copied[ex.relpath] = exc.message
    refused.update({ex.id: not_copied[ex.relpath] for ex in wanted if ex.relpath in not_copied})
    if os.path.realpath(student) != os.path.realpath(tree):
        for ex in exercises:
            if ex.id in refused:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(tree, *_parts(ex.relpath)))
    return refused


# --- grading -----------------------------------------------------------------------------------------------

def harness_env() -> dict[str, str]:
    """The environment of the grading run: none of the job's files or tokens (GITHUB_OUTPUT, GITHUB_ENV...),
    and no GITHUB_ACTIONS, so that this script alone writes the job's outputs, once, with refusals applied."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "ACTIONS_", "PROCLAB_"))}


def run_harness(tree: str, out: str, exercises) -> str | None:
    """`python -m graders.harness grade --quiet --out OUT` in TREE, within a deadline (the table is printed
    afterwards, refusals applied). Returns why it did not finish, or None."""
    deadline = GRADE_ALLOWANCE + PER_EXERCISE * len(exercises)
    proc = subprocess.Popen([sys.executable, "-m", "graders.harness", "grade", "--quiet", "--out", out], cwd=tree,
                            env=harness_env(), stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        proc.wait(timeout=deadline)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        return f"grading did not finish within {deadline:g} s and was stopped"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    return None


def read_report(path: str) -> dict | None:
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and isinstance(doc.get("exercises"), list) else None


def apply_refusals(doc: dict, refused: dict[str, str]) -> dict:
    """The document with each refused exercise an error worth nothing, every check of it saying why."""
    for entry in doc["exercises"]:
        sentence = refused.get(entry.get("id"))
        if sentence is None:
            continue
        entry.update(status=ERROR, score=0)
        tests = entry.get("tests") or [{"name": "graded", "duration": 0.0}]
        entry["tests"] = [{**test, "status": ERROR, "message": sentence} for test in tests]
    doc["score"] = round(sum(entry["score"] for entry in doc["exercises"]), 2)
    return doc


def append_summary(lines: list[str]) -> None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if lines and path and os.environ.get("GITHUB_ACTIONS") == "true":
        with open(path, "a", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n\n")


def grade(student: str, tree: str = catalogue.REPO, out: str | None = None) -> int:
    """Grade STUDENT's exercises/ with TREE's graders into OUT (TREE/.grade); 0 when every exercise passes."""
    student, tree = os.path.abspath(student), os.path.abspath(tree)
    out = os.path.abspath(out or os.path.join(tree, ".grade"))
    exercises = catalogue.load(os.path.join(tree, "graders", "catalogue.toml"))
    origin = Origin.from_env()
    notes = announce(origin)
    doc = None
    try:
        if origin.pinned:
            notes += warn_changed(changed_paths(student, tree), origin)
        refused = copy_exercises(student, tree, exercises)
        os.makedirs(out, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(out, "report.json"))  # a report of an earlier run is never this run's
        stopped = run_harness(tree, out, exercises)
        doc = read_report(os.path.join(out, "report.json"))
        if doc is None:
            raise RuntimeError(stopped or "the grading run left no readable .grade/report.json")
        if stopped:
            doc["crashed"] = stopped
        doc = apply_refusals(doc, refused)
    except Exception as exc:  # whatever went wrong, every exercise is reported, as an error worth nothing
        import traceback
        traceback.print_exc()
        doc = scoring.build(exercises, [], None, None, f"CI grading failed: {type(exc).__name__}: {exc}")
    finally:
        if doc is not None:
            say(report.table(doc))
            say(report.next_step(doc))
            report.write_all(doc, out)  # on GitHub Actions: the annotations, the summary's table, the outputs
            append_summary(notes)
    say(f"Graded by {origin.describe()}.")
    return 0 if all(entry["status"] == PASS for entry in doc["exercises"]) else 1


# --- the graders' dependencies ------------------------------------------------------------------------------

def requirements(pyproject: str, group: str = "grade") -> list[str]:
    """A dependency group of PYPROJECT (PEP 735), its included groups resolved."""
    with open(pyproject, "rb") as f:
        groups = tomllib.load(f).get("dependency-groups", {})

    def resolve(name: str, seen: tuple) -> list[str]:
        if name in seen:
            raise ValueError(f"dependency group {name!r} includes itself ({' -> '.join((*seen, name))})")
        if name not in groups:
            raise ValueError(f"{pyproject} has no dependency group {name!r}")
        found = []
        for item in groups[name]:
            found += [item] if isinstance(item, str) else resolve(item["include-group"], (*seen, name))
        return found

    return list(dict.fromkeys(resolve(group, ())))


def install(tree: str = catalogue.REPO, group: str = "grade") -> int:
    wanted = requirements(os.path.join(tree, "pyproject.toml"), group)
    say(f"Installing the {group} dependencies of the graders: {' '.join(wanted)}")
    return subprocess.run([sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
                           *wanted], stdin=subprocess.DEVNULL, timeout=INSTALL_TIMEOUT).returncode


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m graders.harness.ci_grade", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("grade", help="grade a student's checkout with the graders of this tree")
    p.add_argument("--student", required=True, help="the student's checkout (its exercises/ are graded)")
    p.add_argument("--out", default=None, help="where reports go (default: .grade of this tree)")
    p = sub.add_parser("install", help="pip install this tree's `grade` dependency group")
    p.add_argument("--group", default="grade")
    args = parser.parse_args(argv)
    if args.command == "install":
        return install(group=args.group)
    return grade(args.student, catalogue.REPO, args.out)


if __name__ == "__main__":
    sys.exit(main())
