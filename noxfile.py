"""proclab's commands. Students: `nox -s grade`. Maintainers: `nox -s verify` (the test suite)."""

import hashlib
import os
import sys

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["grade"]
nox.options.download_python = "never"  # use the interpreters installed here; never fetch one

PYPROJECT = nox.project.load_toml("pyproject.toml")
VERIFY_PYTHONS = ["3.11", "3.12", "3.13", "3.14"]


def install(session: nox.Session, group: str) -> None:
    """Install a dependency group once per venv, so a repeated session starts in about a second."""
    requirements = nox.project.dependency_groups(PYPROJECT, group)
    digest = hashlib.sha256("\n".join(requirements).encode()).hexdigest()
    stamp = os.path.join(session.virtualenv.location, f".proclab-{group}")
    try:
        with open(stamp) as f:
            if f.read() == digest:
                return
    except OSError:
        pass
    session.install(*requirements)
    with open(stamp, "w") as f:
        f.write(digest)


def harness(session: nox.Session, *args: str) -> None:
    install(session, "grade")
    session.run("python", "-m", "graders.harness", *args, external=False)


@nox.session
def grade(session: nox.Session) -> None:
    """Grade exercises/ (or the ids/topics given; --target DIR grades another tree)."""
    if not sys.platform.startswith("linux"):
        session.error("proclab grades Linux system calls (fork, /proc, signals), so it runs only on Linux. "
                      "Open this repository in WSL2, in the dev container (.devcontainer/) or in a GitHub "
                      "Codespace, and run `nox -s grade` there.")
    harness(session, "grade", *session.posargs)


@nox.session(name="list")
def list_(session: nox.Session) -> None:
    """Every exercise with its last status and points, and what to do next."""
    harness(session, "list", *session.posargs)


@nox.session
def hint(session: nox.Session) -> None:
    """The next hint for an exercise: nox -s hint -- ID."""
    if not session.posargs:
        session.error("name the exercise: nox -s hint -- pipe_chain")
    harness(session, "hint", *session.posargs)


@nox.session
def export(session: nox.Session) -> None:
    """Write the student template (no solutions/, no mutants) to DEST."""
    harness(session, "export", *session.posargs)


@nox.session
def watch(session: nox.Session) -> None:
    """Re-grade the exercise being edited whenever its file is saved."""
    harness(session, "watch", *session.posargs)


@nox.session
def gradebook(session: nox.Session) -> None:
    """Batch-grade every submission folder in DIR, isolated, into a CSV: nox -s gradebook -- DIR."""
    harness(session, "gradebook", *session.posargs)


@nox.session(python=VERIFY_PYTHONS)
def verify(session: nox.Session) -> None:
    """The repository's own tests: solutions pass, stubs and mutants fail, catalogue agrees, harness survives."""
    install(session, "verify")
    # Every mutant and alternate is graded on the first Python; a third of them on the others.
    env = {} if session.python == VERIFY_PYTHONS[0] else {"PROCLAB_SWEEP": "sample"}
    session.run("python", "-m", "pytest", "-n", "2", *(session.posargs or ["tests"]), env=env)


@nox.session
def bench(session: nox.Session) -> None:
    """Measure grading times against the speed budgets (reported, not asserted)."""
    install(session, "grade")
    session.run("python", "bench/grade_times.py", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, and the GitHub workflows checked against their schema."""
    install(session, "lint")
    session.run("ruff", "check", ".")
    session.run("check-jsonschema", "--builtin-schema", "vendor.github-workflows",
                *[os.path.join(".github/workflows", f) for f in sorted(os.listdir(".github/workflows"))])
