"""proclab's commands. Students: `nox -s grade`. Maintainers: `nox -s verify` (the test suite)."""

import hashlib
import importlib.util
import os
import shutil
import sys

import nox

# uv when it is there (installed, or beside nox), else virtualenv: chosen here, so nox prints no
# "uv binary not found" on machines without it.
HAVE_UV = bool(shutil.which("uv") or importlib.util.find_spec("uv"))
nox.options.default_venv_backend = "uv" if HAVE_UV else "virtualenv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["grade"]
nox.options.download_python = "never"  # use the interpreters installed here; never fetch one

PYPROJECT = nox.project.load_toml("pyproject.toml")
VERIFY_PYTHONS = ["3.11", "3.12", "3.13", "3.14"]
# The one environment of the student's commands: `grade` makes it; `watch` runs in it; `list`, `hint`
# and `reset` need only the standard library and run in nox's own Python.
GRADE_VENV = os.path.join(".nox", "grade")


def digest(group: str) -> str:
    return hashlib.sha256("\n".join(nox.project.dependency_groups(PYPROJECT, group)).encode()).hexdigest()


def installed(location: str, group: str) -> bool:
    try:
        with open(os.path.join(location, f".proclab-{group}")) as f:
            return f.read() == digest(group)
    except OSError:
        return False


def install(session: nox.Session, group: str) -> None:
    """Install a dependency group once per venv, so a repeated session starts in about a second."""
    if installed(session.virtualenv.location, group):
        return
    session.install(*nox.project.dependency_groups(PYPROJECT, group))
    with open(os.path.join(session.virtualenv.location, f".proclab-{group}"), "w") as f:
        f.write(digest(group))


def harness(session: nox.Session, *args: str) -> None:
    install(session, "grade")
    session.run("python", "-m", "graders.harness", *args, external=False)


def light(session: nox.Session, *args: str) -> None:
    """A command that needs only the standard library: run it in nox's own Python when that is 3.10+."""
    if sys.version_info >= (3, 10):  # noqa: UP036 - nox itself may run on an older Python than the course
        session.run(sys.executable, "-m", "graders.harness", *args, external=True)
    else:
        session.run(grade_python(session), "-m", "graders.harness", *args, external=True)


def grade_python(session: nox.Session) -> str:
    """The Python of the grade environment, made (as `nox -s grade` would) when it is missing."""
    python = os.path.join(GRADE_VENV, "bin", "python")
    if not (os.path.exists(python) and installed(GRADE_VENV, "grade")):
        session.run(sys.executable, "-m", "nox", "-s", "grade", "--install-only", external=True)
    return python


def maintainers_only(session: nox.Session) -> None:
    if not os.path.isdir("tests"):
        session.error("this session is for the course's maintainers: a student repository has no tests/ or "
                      "bench/; `nox -s grade` is yours")


@nox.session
def grade(session: nox.Session) -> None:
    """Grade exercises/ (or the ids/topics given; --target DIR grades another tree)."""
    if not sys.platform.startswith("linux"):
        session.error("proclab grades Linux system calls (fork, /proc, signals), so it runs only on Linux. "
                      "Open this repository in WSL2, in the dev container (.devcontainer/) or in a GitHub "
                      "Codespace, and run `nox -s grade` there.")
    harness(session, "grade", *session.posargs)


@nox.session(name="list", venv_backend="none")
def list_(session: nox.Session) -> None:
    """Every exercise with its last status and points, and what to do next."""
    light(session, "list", *session.posargs)


@nox.session(venv_backend="none")
def hint(session: nox.Session) -> None:
    """A hint: -- [ID|TOPIC] [N] [--all] (default: the next hint of the next unfinished exercise)."""
    light(session, "hint", *session.posargs)


@nox.session(venv_backend="none")
def reset(session: nox.Session) -> None:
    """Put an exercise's original stub back, keeping your file in .grade/backup/: -- ID."""
    light(session, "reset", *session.posargs)


@nox.session(venv_backend="none")
def watch(session: nox.Session) -> None:
    """Re-grade the exercise you save, each time you save it; Ctrl-C stops."""
    session.run(grade_python(session), "-m", "graders.harness", "watch", *session.posargs, external=True)


@nox.session(venv_backend="none")
def export(session: nox.Session) -> None:
    """Write the student template to DEST, or the Gradescope bundle: -- --gradescope DEST.zip."""
    session.run(grade_python(session), "-m", "graders.harness", "export", *session.posargs, external=True)


@nox.session(venv_backend="none")
def gradebook(session: nox.Session) -> None:
    """Batch-grade every submission folder in DIR, isolated, into gradebook.csv and gradebook.html."""
    session.run(grade_python(session), "-m", "graders.harness", "gradebook", *session.posargs, external=True)


@nox.session(python=VERIFY_PYTHONS)
def verify(session: nox.Session) -> None:
    """The repository's own tests: solutions pass, stubs and mutants fail, catalogue agrees, harness survives."""
    maintainers_only(session)
    install(session, "verify")
    # Every mutant and alternate is graded on the first Python; a third of them on the others.
    env = {} if session.python == VERIFY_PYTHONS[0] else {"PROCLAB_SWEEP": "sample"}
    session.run("python", "-m", "pytest", "-n", "2", *(session.posargs or ["tests"]), env=env)


@nox.session
def bench(session: nox.Session) -> None:
    """Measure grading times against the speed budgets (reported, not asserted)."""
    maintainers_only(session)
    install(session, "grade")
    session.run("python", "bench/grade_times.py", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff; the GitHub workflows against their schema and zizmor's security audits; grade.yml against the catalogue."""
    install(session, "lint")
    session.run("ruff", "check", ".")
    workflows = [os.path.join(".github/workflows", f) for f in sorted(os.listdir(".github/workflows"))]
    session.run("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *workflows)
    # --offline: no GitHub API (its online audits need a token); any finding fails the session
    session.run("zizmor", "--offline", *workflows)
    session.run("python", "-m", "graders.harness.workflows")  # grade.yml is what the catalogue generates
