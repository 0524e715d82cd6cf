"""Helpers for proclab's own test suite (nox -s verify): run the grading CLI as a student would."""

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass

import pytest

from graders.harness import catalogue, cleanup

REPO = catalogue.REPO
EXERCISES = catalogue.load(os.path.join(REPO, "graders", "catalogue.toml"))


@dataclass
class GradeRun:
    returncode: int
    report: dict
    seconds: float
    output: str

    def status(self, ident: str) -> str:
        return self.entry(ident)["status"]

    def entry(self, ident: str) -> dict:
        return next(e for e in self.report["exercises"] if e["id"] == ident)

    def statuses(self) -> dict[str, str]:
        return {e["id"]: e["status"] for e in self.report["exercises"]}

    def messages(self, ident: str) -> list[str]:
        return [t.get("message", "") for t in self.entry(ident)["tests"] if t["status"] != "pass"]


def grade(tmp_path, *args: str, env: dict | None = None, timeout: float = 300) -> GradeRun:
    """`python -m graders.harness grade ARGS` with reports in tmp_path; nothing may outlive it."""
    out = tmp_path / "grade"
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "graders.harness", "grade", "--out", str(out), *args],
                          cwd=REPO, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})
    seconds = time.monotonic() - started
    with open(out / "report.json") as f:
        report = json.load(f)
    left = cleanup.living_descendants()
    if left:
        cleanup.kill_descendants()
    assert not left, f"grading left processes running: {[p.pid for p in left]}"
    return GradeRun(proc.returncode, report, seconds, proc.stdout + proc.stderr)


def compose(path: str, dest_dir, replacements: dict[str, str] | None = None) -> str:
    """A hostile submission as the grader will see it. A first line `# base: REL` names a file of this
    repository (a solution or a stub) that is put in front, so the file holds only what it adds."""
    with open(path) as f:
        text = f.read()
    first = text.splitlines()[0] if text else ""
    if first.startswith("# base: "):
        with open(os.path.join(REPO, first[len("# base: "):].strip())) as f:
            text = f.read() + "\n\n" + text
    for key, value in (replacements or {}).items():
        text = text.replace(key, value)
    dest = os.path.join(str(dest_dir), os.path.basename(path))
    with open(dest, "w") as f:
        f.write(text)
    return dest


@pytest.fixture(scope="session", autouse=True)
def subreaper():
    """Whatever escapes a grading run is re-parented to this worker, where the checks can see it."""
    cleanup.become_subreaper()


def sweep(tmp_path, ex, files: list[str], timeout: float = 900) -> dict[str, dict]:
    """Grade FILES as exercise EX in one grading run (one pytest start-up for the whole batch)."""
    out = tmp_path / f"sweep-{ex.id}"
    proc = subprocess.run([sys.executable, "-m", "graders.harness", "sweep", "--out", str(out),
                           *[f"{ex.id}={path}" for path in files]],
                          cwd=REPO, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(out / "sweep.json") as f:
        found = json.load(f)
    left = cleanup.living_descendants()
    if left:
        cleanup.kill_descendants()
    assert not left, f"the sweep left processes running: {[p.pid for p in left]}"
    return found


def sample(files: list[str]) -> list[str]:
    """Every file on the first Python of the matrix; every third on the others (PROCLAB_SWEEP=sample),
    so the whole matrix stays fast as mutants multiply while each Python still grades some of each kind."""
    if os.environ.get("PROCLAB_SWEEP") == "sample":
        return files[::3]
    return files


@pytest.fixture(scope="session")
def nobody():
    """grade(*args) run as the unprivileged user `nobody` (same-user mode), from a copy of the repository
    and a venv that nobody can read: returns (exit code, {id: report entry}, report)."""
    import shutil
    import tempfile
    if os.geteuid() != 0:
        pytest.skip("not root: this whole suite already runs unprivileged")
    system_python = "/usr/bin/python3"
    if not os.path.exists(system_python) or not shutil.which("setpriv"):
        pytest.skip("needs /usr/bin/python3 and setpriv to run as nobody")
    top = tempfile.mkdtemp(prefix="proclab-nobody-")
    os.chmod(top, 0o755)
    venv, repo = os.path.join(top, "venv"), os.path.join(top, "repo")
    subprocess.run([system_python, "-m", "venv", venv], check=True)
    subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q", "pytest", "pytest-timeout", "psutil"],
                   check=True, capture_output=True)
    shutil.copytree(REPO, repo, ignore=shutil.ignore_patterns(".git", ".nox", ".grade", "__pycache__"))
    subprocess.run(["chown", "-R", "nobody:nogroup", top], check=True)

    def run(*args):
        out = os.path.join(top, "out")
        shutil.rmtree(out, ignore_errors=True)
        proc = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                               os.path.join(venv, "bin", "python"), "-m", "graders.harness", "grade", "-q",
                               "--out", out, *args],
                              cwd=repo, capture_output=True, text=True, timeout=180,
                              env={"PATH": os.environ["PATH"], "HOME": top})
        with open(os.path.join(out, "report.json")) as f:
            report = json.load(f)
        return proc.returncode, {e["id"]: e for e in report["exercises"]}, report

    run.repo = repo
    yield run
    shutil.rmtree(top, ignore_errors=True)
