"""`nox -s export`: the student template (DEST) and the Gradescope autograder bundle (--gradescope DEST.zip).

`python -m graders.harness.export autograde [ROOT]` is what the bundle's run_autograder runs on Gradescope: it copies
the submission's exercise files into this (pristine) tree, grades them, and writes ROOT/results/results.json in
Gradescope's format (https://gradescope-autograders.readthedocs.io/en/latest/specs/), failing closed.
"""

import contextlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile

from graders.harness import catalogue, sanitize

# What a student repository holds, relative to the repository root. Everything else stays out: solutions/,
# tests/, bench/, .ci/, the maintainers' workflow (ci.yml), INSTRUCTORS.md, reports, caches, and below graders/
# the mutants and alternates. An allowlist, so that a new maintainers' folder cannot leak by default.
TEMPLATE_REQUIRED = (".github/workflows/grade.yml", "exercises", "graders", "noxfile.py", "pyproject.toml")
TEMPLATE_PATHS = (".devcontainer", ".gitignore", *TEMPLATE_REQUIRED)
TEMPLATE_GLOBS = (re.compile(r"README(\.[\w-]+)?\.md"), re.compile(r"LICEN[CS]E(\.\w+)?"))
# The pristine tree the Gradescope bundle grades with.
BUNDLE_PATHS = ("exercises", "graders", "noxfile.py", "pyproject.toml")
LEFT_OUT = {"graders/mutants", "graders/alternates"}
SKIPPED_NAMES = {"__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache", ".grade", ".nox", ".venv",
                 ".benchmarks", ".DS_Store"}
SKIPPED_SUFFIXES = (".pyc", ".pyo")

# Sections of the top-level READMEs that speak to maintainers and instructors, not to students: a heading that
# names them (its section runs to the next heading of the same or a higher level), or a block marked
# <!-- maintainers --> ... <!-- /maintainers -->.
NOT_FOR_STUDENTS = re.compile(r"maintainer|instructor|维护者|教师", re.IGNORECASE)
MARKED = re.compile(r"<!--\s*maintainers\s*-->.*?<!--\s*/maintainers\s*-->\n?", re.DOTALL | re.IGNORECASE)
HEADING = re.compile(r"(#{1,6})\s+(.*)")
FENCE = re.compile(r"\s*(```|~~~)")

# Gradescope
DEFAULT_ROOT = "/autograder"
VISIBILITY = "visible"  # students see each exercise's feedback at once, as they do in CI
RESULTS = "results.json"
GRADE_BOUND_BASE = 60.0  # seconds, besides the harness's own allowances, before a grading is stopped from outside


class ExportError(Exception):
    """Why an export cannot be written, in a sentence for the person who ran it."""


# -- the tree ---------------------------------------------------------------------------------------------------


def _skipped(relpath: str) -> bool:
    name = os.path.basename(relpath)
    return relpath in LEFT_OUT or name in SKIPPED_NAMES or name.endswith(SKIPPED_SUFFIXES)


def tree_files(repo: str, paths, required=()) -> list[str]:
    """The files under PATHS (relative to REPO) that an export holds, sorted; only regular files and folders.
    Each of REQUIRED must be there."""
    found = []
    for top in paths:
        start = os.path.join(repo, top)
        if not os.path.lexists(start):
            if top in required:
                raise ExportError(f"{top} is missing from {repo}: an export cannot do without it")
            continue
        pending = [top]
        while pending:
            rel = pending.pop()
            path = os.path.join(repo, rel)
            if _skipped(rel):
                continue
            mode = os.lstat(path).st_mode
            if stat.S_ISLNK(mode):
                raise ExportError(f"{rel} is a symbolic link: an export copies only regular files and folders, so "
                                  "replace it with what it points to, or remove it")
            if stat.S_ISDIR(mode):
                pending += [f"{rel}/{name}" for name in os.listdir(path)]
            elif stat.S_ISREG(mode):
                found.append(rel)
            else:
                raise ExportError(f"{rel} is neither a regular file nor a folder: remove it before exporting")
    return sorted(found)


def _check_stubs(repo: str, exercises) -> None:
    """A template or a bundle must hand out the untouched stubs, never work in progress."""
    for ex in exercises:
        path = os.path.join(repo, ex.relpath)
        if not os.path.isfile(path):
            raise ExportError(f"the stub {ex.relpath} is missing: `git checkout -- {ex.relpath}` restores it")
        if ex.stub_sha256 and catalogue.sha256_of(path) != ex.stub_sha256:
            raise ExportError(f"{ex.relpath} is not the untouched stub (its sha256 differs from the catalogue's "
                              f"stub_sha256): restore it with `git checkout -- {ex.relpath}`, or, if the stub was "
                              "changed on purpose, update stub_sha256 in graders/catalogue.toml")


def student_readme(text: str) -> str:
    """README text without the parts for maintainers and instructors (see NOT_FOR_STUDENTS)."""
    text = MARKED.sub("", text)
    kept, dropping, fenced = [], 0, False  # dropping: the level of the heading whose section is left out
    for line in text.splitlines(keepends=True):
        if FENCE.match(line):
            fenced = not fenced
        heading = None if fenced and not FENCE.match(line) else HEADING.match(line)
        if heading:
            level = len(heading.group(1))
            if dropping and level <= dropping:
                dropping = 0
            if not dropping and NOT_FOR_STUDENTS.search(heading.group(2)):
                dropping = level
        if not dropping:
            kept.append(line)
    return "".join(kept).rstrip() + "\n"


def _is_top_readme(rel: str) -> bool:
    return "/" not in rel and rel.startswith("README") and rel.endswith(".md")


def template_files(repo: str) -> list[str]:
    top = [name for name in os.listdir(repo) if any(p.fullmatch(name) for p in TEMPLATE_GLOBS)]
    return tree_files(repo, [*TEMPLATE_PATHS, *top], required=TEMPLATE_REQUIRED)


def template(dest: str, repo: str | None = None) -> int:
    """Write the student template (what a student repository holds) to DEST, a new or empty folder."""
    repo = repo or catalogue.REPO
    dest = os.path.abspath(dest)
    try:
        if os.path.lexists(dest) and (not os.path.isdir(dest) or os.path.islink(dest) or os.listdir(dest)):
            raise ExportError(f"{dest} already exists and is not an empty folder: name a new folder")
        if os.path.commonpath([dest, os.path.realpath(repo)]) == os.path.realpath(repo):
            raise ExportError(f"{dest} lies inside the repository being exported: name a folder outside it")
        exercises = catalogue.load(os.path.join(repo, "graders", "catalogue.toml"))
        _check_stubs(repo, exercises)
        files = template_files(repo)
    except ExportError as exc:
        print(f"export: {exc}", file=sys.stderr)
        return 2
    os.makedirs(dest, exist_ok=True)
    for rel in files:
        target = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if _is_top_readme(rel):
            with open(os.path.join(repo, rel), encoding="utf-8") as f:
                text = student_readme(f.read())
            with open(target, "w", encoding="utf-8") as f:
                f.write(text)
            shutil.copymode(os.path.join(repo, rel), target)
        else:
            shutil.copy2(os.path.join(repo, rel), target)
    print(f"student template written to {dest} ({len(files)} files): make it the template repository of your "
          "course (see INSTRUCTORS.md)")
    return 0


# -- the Gradescope bundle --------------------------------------------------------------------------------------


def grade_requirements(repo: str) -> list[str]:
    """The `grade` dependency group of pyproject.toml (include-group entries resolved)."""
    with open(os.path.join(repo, "pyproject.toml"), "rb") as f:
        groups = tomllib.load(f).get("dependency-groups", {})

    def resolve(name: str, seen: tuple) -> list[str]:
        if name in seen:
            raise ExportError(f"dependency group {name!r} includes itself in pyproject.toml")
        found = []
        for item in groups.get(name, []):
            if isinstance(item, dict):
                found += resolve(item["include-group"], (*seen, name))
            elif item not in found:
                found.append(item)
        return found

    if "grade" not in groups:
        raise ExportError("pyproject.toml has no `grade` dependency group: the bundle would not know what to install")
    return resolve("grade", ())


SETUP_SH = r"""#!/usr/bin/env bash
# proclab's Gradescope setup: Gradescope runs this once, as root, when it builds the autograder image
# (Ubuntu base image). It installs Python 3.11 or newer and, in a venv beside it, what grading needs
# (requirements.txt: the `grade` dependency group of proclab's pyproject.toml).
set -euo pipefail
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export DEBIAN_FRONTEND=noninteractive

new_enough() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; }

apt-get update
PYTHON=""
for candidate in python3 python3.14 python3.13 python3.12 python3.11; do
  if command -v "$candidate" >/dev/null 2>&1 && new_enough "$candidate"; then
    PYTHON="$(command -v "$candidate")"
    break
  fi
done
if [ -z "$PYTHON" ]; then
  # Ubuntu 22.04's python3 is 3.10; its python3.11 package is new enough.
  if ! apt-get install -y --no-install-recommends python3.11 python3.11-venv; then
    echo "setup.sh: no Python 3.11 or newer could be installed: choose the Ubuntu 22.04 or 24.04 base image" >&2
    exit 1
  fi
  PYTHON="$(command -v python3.11)"
fi
# Debian and Ubuntu ship venv's pip (ensurepip) in a package of its own.
if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
  apt-get install -y --no-install-recommends "$(basename "$PYTHON")-venv"
fi
"$PYTHON" -m venv "$SOURCE/.venv"
"$SOURCE/.venv/bin/python" -m pip install --no-cache-dir --disable-pip-version-check -r "$SOURCE/requirements.txt"
"$SOURCE/.venv/bin/python" -c 'import psutil, pytest, pytest_timeout; print("proclab autograder ready")'
"""

RUN_AUTOGRADER = r"""#!/usr/bin/env bash
# proclab's Gradescope autograder: Gradescope runs this, as root, once per submission. As root the grader runs
# the student's code as a user of its own, in its own namespaces and cgroups (separate-user mode).
#   PROCLAB_AUTOGRADER_ROOT    the autograder folder (default /autograder; a fake layout when testing the bundle)
#   PROCLAB_AUTOGRADER_PYTHON  the Python to grade with (default: the venv setup.sh made)
set -u
ROOT="${PROCLAB_AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
PYTHON="${PROCLAB_AUTOGRADER_PYTHON:-$SOURCE/.venv/bin/python}"
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"
rm -f "$RESULTS"
# A clean environment: nothing of the caller's (PYTHONPATH, PROCLAB_CATALOGUE...) may change what is graded.
( cd "$SOURCE" && env -i PATH="$PATH" HOME="${HOME:-/root}" LANG=C.UTF-8 PROCLAB_AUTOGRADER_ROOT="$ROOT" \
    "$PYTHON" -m graders.harness.export autograde "$ROOT" )
status=$?
if [ ! -s "$RESULTS" ]; then
  # The grader could not start (or died before writing anything): every exercise earns 0, and says why.
  echo "run_autograder: the grader ($PYTHON) exited with status $status without writing $RESULTS" >&2
  cat > "$RESULTS.tmp" <<'PROCLAB_FALLBACK'
@FALLBACK@
PROCLAB_FALLBACK
  mv "$RESULTS.tmp" "$RESULTS"
fi
exit 0
"""


def _zip_add(bundle: zipfile.ZipFile, name: str, data: bytes, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # the same tree always gives the same bundle
    info.create_system = 3  # Unix, so that unzip restores the modes below
    info.external_attr = ((0o100755 if executable else 0o100644) & 0xFFFF) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    bundle.writestr(info, data)


def gradescope(dest_zip: str, repo: str | None = None) -> int:
    """Write the Gradescope autograder bundle: setup.sh, run_autograder, requirements.txt and the pristine tree."""
    repo = repo or catalogue.REPO
    dest_zip = os.path.abspath(dest_zip)
    try:
        if os.path.isdir(dest_zip):
            raise ExportError(f"{dest_zip} is a folder: name the zip file to write, e.g. proclab-autograder.zip")
        exercises = catalogue.load(os.path.join(repo, "graders", "catalogue.toml"))
        _check_stubs(repo, exercises)
        files = tree_files(repo, BUNDLE_PATHS, required=BUNDLE_PATHS)
        requirements = grade_requirements(repo)
    except ExportError as exc:
        print(f"export: {exc}", file=sys.stderr)
        return 2
    fallback = results_document(exercises, {}, None, "the grader could not start on Gradescope (run_autograder "
                                "found no working Python: did setup.sh finish?); nothing was graded, so every "
                                "exercise earns 0. Tell your instructor.", 0)
    run_autograder = RUN_AUTOGRADER.replace("@FALLBACK@", json.dumps(fallback, indent=2, ensure_ascii=False))
    folder = os.path.dirname(dest_zip)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".proclab-bundle-", suffix=".zip", dir=folder)
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w") as bundle:
            _zip_add(bundle, "setup.sh", SETUP_SH.encode(), executable=True)
            _zip_add(bundle, "run_autograder", run_autograder.encode(), executable=True)
            _zip_add(bundle, "requirements.txt", "".join(f"{r}\n" for r in requirements).encode())
            for rel in files:
                with open(os.path.join(repo, rel), "rb") as f:
                    _zip_add(bundle, rel, f.read(), executable=os.access(os.path.join(repo, rel), os.X_OK))
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest_zip)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    print(f"Gradescope autograder bundle written to {dest_zip} ({len(files) + 3} files): upload it on the "
          "assignment's Configure Autograder page (Ubuntu base image), then Test Autograder with a solution")
    return 0


# -- on Gradescope: run_autograder ------------------------------------------------------------------------------


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def _read_upload(submission: str, rel: str, limit: int = 1 << 20) -> bytes | None:
    """The bytes of SUBMISSION/REL when it is a regular file reached through real folders only; None when it is
    missing; a sentence (ValueError) when it is anything else: a symbolic link (on the way or at the end), a
    folder, a FIFO, a device, or too large."""
    path = submission
    parts = rel.split("/")
    for n, part in enumerate(parts, 1):
        path = os.path.join(path, part)
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            return None
        shown = "/".join(parts[:n])
        if stat.S_ISLNK(mode):
            raise ValueError(f"{shown} is a symbolic link: links are not followed; upload the file itself")
        if n < len(parts) and not stat.S_ISDIR(mode):
            return None
    if not stat.S_ISREG(mode):
        raise ValueError(f"{rel} is {_kind(mode)}, not a regular file: upload the file itself")
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"{rel} is not a regular file: upload the file itself")
        data = b""
        while len(data) <= limit:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ValueError(f"{rel} is larger than {limit} bytes, more than any graded file needs")
    return data


def take_submission(submission: str, source: str, exercises) -> dict[str, tuple[str, str]]:
    """Copy each exercise's file from the upload into SOURCE/exercises/<topic>/<file>. The upload may have the
    repository layout (exercises/<topic>/<file>) or the bare file at its top (<file>); the repository layout wins.
    Returns {id: (state, sentence)}: state "taken" (graded), "missing" or "refused" (both earn 0)."""
    found = {}
    for ex in exercises:
        candidates = [ex.relpath, ex.file]
        try:
            rel, data = next(((rel, data) for rel in candidates
                              if (data := _read_upload(submission, rel)) is not None), (None, None))
        except ValueError as exc:
            found[ex.id] = ("refused", f"{exc}: {ex.id} was not graded and earns 0")
            continue
        except OSError as exc:
            found[ex.id] = ("refused", f"{ex.file} cannot be read ({exc.strerror}): {ex.id} was not graded "
                                       "and earns 0")
            continue
        if rel is None:
            found[ex.id] = ("missing", f"your submission has no {ex.relpath} (nor {ex.file} at its top): "
                                       f"{ex.id} was not graded and earns 0")
            continue
        target = os.path.join(source, ex.relpath)
        os.makedirs(os.path.dirname(target), mode=0o755, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(target)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        found[ex.id] = ("taken", f"graded {rel} of your submission")
    return found


def _kill_tree(proc: subprocess.Popen) -> None:
    import psutil

    try:
        below = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        below = []
    with contextlib.suppress(OSError):
        os.killpg(proc.pid, signal.SIGKILL)
    for child in below:
        with contextlib.suppress(psutil.Error):
            child.kill()
    proc.wait()


def _read_report(out: str) -> tuple[dict | None, str]:
    try:
        with open(os.path.join(out, "report.json"), encoding="utf-8") as f:
            doc = json.load(f)
    except FileNotFoundError:
        return None, "the grading run wrote no report"
    except (OSError, ValueError) as exc:
        return None, f"the grading report cannot be read ({exc})"
    entries = doc.get("exercises") if isinstance(doc, dict) else None
    if not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("id"), str) and isinstance(e.get("status"), str)
            and isinstance(e.get("score"), int | float) and isinstance(e.get("tests", []), list) for e in entries):
        return None, "the grading report is malformed"
    return doc, ""


def run_grading(source: str, ids: list[str], hide: list[str]) -> tuple[dict | None, str]:
    """Grade IDS in SOURCE's own harness, in a grading process of its own, within a deadline. Returns the
    report document (None when there is none) and, when grading did not finish properly, why."""
    from graders.harness import cleanup, grading

    bound = GRADE_BOUND_BASE + grading.STARTUP_ALLOWANCE + grading.PER_EXERCISE_ALLOWANCE * len(ids)
    out = tempfile.mkdtemp(prefix="proclab-gradescope-")  # 0700: no graded code can reach it
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PROCLAB_", "PYTHON", "PYTEST_")) and key not in ("GITHUB_ACTIONS",)}
    command = [sys.executable, "-m", "graders.harness", "grade", "--target", os.path.join(source, "exercises"),
               "--out", out, *[f"--hide={path}" for path in hide if os.path.isdir(path)], *ids]
    try:
        proc = subprocess.Popen(command, cwd=source, env=env, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            proc.wait(timeout=bound)
        except subprocess.TimeoutExpired:
            _kill_tree(proc)
            cleanup.sweep_stale()
            return None, f"grading did not finish within {bound:g} s and was stopped"
        doc, why = _read_report(out)
        if doc is None:
            return None, f"{why} (the grading process ended with exit code {proc.returncode})"
        return doc, ""
    finally:
        shutil.rmtree(out, ignore_errors=True)


def _points(value: float) -> str:
    return f"{value:g}"


def _test_output(entry: dict, note: str) -> str:
    lines = [f"{entry.get('status', 'error')}: {_points(entry.get('score', 0))}/{entry.get('max_score', 0)} "
             f"({note})"]
    for flag in entry.get("flags") or []:
        lines.append(f"FLAGGED: {sanitize.text(flag, 500)} (a flagged exercise earns no points)")
    said = None
    for test in entry.get("tests") or []:
        status = sanitize.text(test.get("status", "error"), 20)
        line = f"[{status}] {sanitize.text(test.get('name', '?'), 200)}"
        message = sanitize.text(test.get("message") or "")
        if status != "pass" and message:
            line += " (the same)" if message == said else f": {message}"
            said = message
        lines.append(line)
    if entry.get("status") != "pass" or entry.get("flags"):
        ident = entry.get("id", "")
        lines.append(f"In your copy of the course repository, `nox -s grade -- {ident} -v` runs the same checks "
                     f"and `nox -s hint -- {ident}` gives a hint.")
    return "\n".join(lines)


def results_document(exercises, taken: dict, doc: dict | None, problem: str | None, seconds: float) -> dict:
    """Gradescope's results.json: one test per exercise, worth the exercise's points. An exercise earns points only
    when it was taken from the submission and graded to its end (its entry in the harness's report, which itself
    fails closed); anything else earns 0 with the reason. The total is the sum of the tests' scores."""
    entries = {e["id"]: e for e in (doc or {}).get("exercises", [])}
    tests, notes = [], []
    for n, ex in enumerate(exercises, 1):
        state, sentence = taken.get(ex.id, ("missing", problem or "not graded"))
        entry = entries.get(ex.id) if state == "taken" else None
        if entry is not None:
            flagged = bool(entry.get("flags"))
            score = 0 if flagged else max(0, min(float(entry["score"]), ex.points))
            passed = entry["status"] == "pass" and not flagged
            output = _test_output({**entry, "max_score": ex.points}, sentence)
        else:
            score, passed = 0, False
            why = sentence if state != "taken" else f"not graded: {problem or 'grading did not finish'}"
            output = f"0/{ex.points}: {why}"
        tests.append({"name": f"{ex.id} ({ex.relpath}): {ex.title}", "number": str(n), "score": score,
                      "max_score": ex.points, "status": "passed" if passed else "failed",
                      "output": sanitize_block(output), "visibility": VISIBILITY})
    total = sum(t["score"] for t in tests)
    maximum = sum(ex.points for ex in exercises)
    if problem:
        notes.append(f"Grading did not finish: {sanitize.text(problem)}. What was not graded earns 0.")
    if doc is not None and doc.get("crashed"):
        notes.append(f"Grading did not finish: {sanitize.text(doc['crashed'])}. What was not graded earns 0.")
    isolation = (doc or {}).get("isolation")
    if doc is not None and isolation != "separate-user":
        notes.append(f"Warning: graded in {sanitize.text(isolation, 40)} mode, so the code graded was not separated "
                     "from the grader: run_autograder must run as root.")
    flagged = [t["name"] for t, ex in zip(tests, exercises) if (entries.get(ex.id) or {}).get("flags")]
    if flagged:
        notes.append("Flagged (0 points each; the reason is in the exercise's output): " + ", ".join(flagged))
    output = "\n".join([f"proclab: {_points(total)}/{maximum} points.", *notes])
    statuses = {}
    for ex in exercises:
        state = taken.get(ex.id, ("not graded", ""))[0]
        statuses[ex.id] = entries.get(ex.id, {}).get("status", "not graded") if state == "taken" else state
    return {"score": total, "output": output, "output_format": "text", "test_output_format": "text",
            "test_name_format": "text", "visibility": VISIBILITY, "stdout_visibility": "hidden",
            "execution_time": round(seconds), "tests": tests,
            "extra_data": {"isolation": isolation, "statuses": statuses}}


def sanitize_block(text: str) -> str:
    """Each line made safe (sanitize.text works on one line), the line breaks kept."""
    return "\n".join(sanitize.text(line, 4000) for line in text.split("\n"))


def write_results(path: str, document: dict) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(document, f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, path)


def autograde(root: str) -> int:
    """Gradescope's run: submission -> pristine tree -> grading -> ROOT/results/results.json. Fails closed: the
    results file exists from the start (every exercise 0, "did not finish") and is replaced only by a finished
    account; whatever goes wrong is written there as the reason."""
    started = time.monotonic()
    root = os.path.abspath(root)
    source = catalogue.REPO
    submission = os.path.join(root, "submission")
    results_dir = os.path.join(root, "results")
    path = os.path.join(results_dir, RESULTS)
    if os.path.isdir(os.path.join(source, "solutions")) or not os.path.isfile(os.path.join(source, "run_autograder")):
        print(f"autograde runs only in an unpacked Gradescope bundle ({source} is not one): it replaces the stubs "
              "in exercises/ with the submission's files. Build the bundle with `nox -s export -- --gradescope "
              "bundle.zip`.", file=sys.stderr)
        return 2
    os.makedirs(results_dir, exist_ok=True)
    exercises = catalogue.load()
    write_results(path, results_document(exercises, {}, None, "the autograder stopped before it had graded "
                                         "anything", 0))
    taken, doc, problem = {}, None, None
    try:
        if not os.path.isdir(submission):
            problem = f"there is no submission folder ({submission})"
        else:
            taken = take_submission(submission, source, exercises)
            ids = [ex.id for ex in exercises if taken[ex.id][0] == "taken"]
            if ids:
                doc, problem = run_grading(source, ids, [submission, results_dir])
                problem = problem or None
    except Exception as exc:  # the reason goes to results.json; the traceback to the instructor's stdout
        import traceback

        traceback.print_exc()
        problem = f"the autograder failed: {type(exc).__name__}: {exc}"
    document = results_document(exercises, taken, doc, problem, time.monotonic() - started)
    write_results(path, document)
    print(document["output"])
    for test in document["tests"]:
        print(f"{test['status']:<7} {_points(test['score'])}/{test['max_score']}  {test['name']}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] != "autograde" or len(argv) > 2:
        print("usage: python -m graders.harness.export autograde [ROOT]  (Gradescope's run_autograder runs it; "
              "ROOT defaults to $PROCLAB_AUTOGRADER_ROOT or /autograder)", file=sys.stderr)
        return 2
    root = argv[1] if len(argv) > 1 else os.environ.get("PROCLAB_AUTOGRADER_ROOT") or DEFAULT_ROOT
    return autograde(root)


if __name__ == "__main__":
    sys.exit(main())
