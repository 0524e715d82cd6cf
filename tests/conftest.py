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


@pytest.fixture(scope="session", autouse=True)
def subreaper():
    """Whatever escapes a grading run is re-parented to this worker, where the checks can see it."""
    cleanup.become_subreaper()


def mutant_params():
    params = []
    for ex in EXERCISES:
        for name in sorted(os.listdir(ex.mutants_dir)) if os.path.isdir(ex.mutants_dir) else []:
            if name.endswith(".py"):
                params.append(pytest.param(ex, os.path.join(ex.mutants_dir, name), id=f"{ex.id}/{name[:-3]}"))
    return params
