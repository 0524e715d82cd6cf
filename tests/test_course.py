"""The course is coherent: solutions pass, stubs don't, every mutant fails, the catalogue agrees."""

import os

import pytest
from conftest import EXERCISES, REPO, grade, mutant_params

from graders.harness import checks


def test_catalogue_and_files_agree():
    problems = checks.catalogue_problems(EXERCISES)
    assert not problems, "the catalogue and the files disagree:\n" + "\n".join(problems)


def test_every_solution_passes(tmp_path):
    run = grade(tmp_path, "--target", os.path.join(REPO, "solutions"))
    failing = {i: run.messages(i) for i, s in run.statuses().items() if s != "pass"}
    assert not failing, f"solutions that do not pass: {failing}"
    assert run.returncode == 0
    assert run.report["score"] == run.report["max_score"]
    flagged = {e["id"]: e["flags"] for e in run.report["exercises"] if e["flags"]}
    assert not flagged, f"solutions were flagged (a false flag): {flagged}"


def test_every_untouched_stub_is_todo_and_the_run_fails(tmp_path):
    run = grade(tmp_path)
    assert run.statuses() == {ex.id: "todo" for ex in EXERCISES}, run.output
    assert run.returncode != 0
    assert run.report["score"] == 0


@pytest.mark.parametrize("ex,mutant", mutant_params())
def test_mutant_fails(tmp_path, ex, mutant):
    run = grade(tmp_path, ex.id, "--submit", f"{ex.id}={mutant}")
    assert run.status(ex.id) == "fail", (
        f"{os.path.relpath(mutant, REPO)} was graded {run.status(ex.id)}, expected fail: "
        f"{run.messages(ex.id) or 'every test passed'}")
    assert run.returncode != 0
    assert not run.entry(ex.id)["flags"], f"{os.path.relpath(mutant, REPO)} was flagged: {run.entry(ex.id)['flags']}"


def test_every_stub_fails_its_grader_even_without_the_untouched_check(tmp_path):
    """The stub-hash shortcut must not hide a stub that would pass: graded for real, each fails."""
    run = grade(tmp_path, env={"PROCLAB_IGNORE_STUB_HASH": "1"})
    passing = [i for i, s in run.statuses().items() if s == "pass"]
    assert not passing, f"stubs that pass their grader: {passing}"
    assert set(run.statuses().values()) <= {"todo", "fail"}, run.statuses()
