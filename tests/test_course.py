"""The course is coherent: solutions pass, stubs don't, every mutant fails, the catalogue agrees."""

import os

import pytest
from conftest import EXERCISES, REPO, grade, sample, sweep

from graders.harness import checks, mutants


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


@pytest.mark.timeout(900)  # one grading of 15-40 files: about a minute on a loaded 2-core machine
@pytest.mark.parametrize("ex", EXERCISES, ids=[ex.id for ex in EXERCISES])
def test_every_mutant_fails_and_none_is_flagged(tmp_path, ex):
    """All mutants of an exercise in one grading run. A mutant graded pass is a grader that misses a
    sentence of its contract; a flagged one is a false flag (mutants are honest wrong code)."""
    files = {mutants.materialize(ex, path, str(tmp_path)): path for path in sample(mutants.mutant_files(ex))}
    found = sweep(tmp_path, ex, list(files))
    wrong = {os.path.relpath(files[p], REPO): (r["status"], r["messages"][:1] or "every test passed")
             for p, r in found.items() if r["status"] != "fail"}
    assert not wrong, f"mutants of {ex.id} not graded fail: {wrong}"
    flagged = {os.path.relpath(files[p], REPO): r["flags"] for p, r in found.items() if r["flags"]}
    assert not flagged, f"mutants of {ex.id} were flagged: {flagged}"


@pytest.mark.timeout(900)
@pytest.mark.parametrize("ex", EXERCISES, ids=[ex.id for ex in EXERCISES])
def test_every_correct_alternate_passes_unflagged(tmp_path, ex):
    """Correct implementations in other styles than the reference's: a grader may demand only what the
    contract says."""
    files = sample(mutants.alternate_files(ex))
    if not files:
        pytest.skip(f"{ex.id} has no alternates yet")
    found = sweep(tmp_path, ex, files)
    wrong = {os.path.relpath(p, REPO): (r["status"], r["messages"][:1], r["flags"]) for p, r in found.items()
             if r["status"] != "pass" or r["flags"]}
    assert not wrong, f"correct alternates of {ex.id} not graded pass: {wrong}"


def test_every_stub_fails_its_grader_even_without_the_untouched_check(tmp_path):
    """The stub-hash shortcut must not hide a stub that would pass: graded for real, each fails."""
    run = grade(tmp_path, env={"PROCLAB_IGNORE_STUB_HASH": "1"})
    passing = [i for i, s in run.statuses().items() if s == "pass"]
    assert not passing, f"stubs that pass their grader: {passing}"
    assert set(run.statuses().values()) <= {"todo", "fail"}, run.statuses()
