"""`nox -s export`: the student template, and the Gradescope bundle run against a fake /autograder layout."""

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile

import pytest
from conftest import EXERCISES, REPO

from graders.harness import catalogue, cleanup, export

EXCLUDED = ("solutions", "tests", "bench", ".ci", ".git", ".grade", ".nox", ".benchmarks", "INSTRUCTORS.md",
            ".github/workflows/ci.yml", "graders/mutants", "graders/alternates")
CACHES = ("__pycache__", ".pytest_cache", ".ruff_cache", ".mypy_cache")
SPEC_TOP = {"score", "execution_time", "output", "output_format", "test_output_format", "test_name_format",
            "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard"}
SPEC_TEST = {"score", "max_score", "status", "name", "name_format", "number", "output", "output_format", "tags",
             "visibility", "extra_data"}
VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}


def _env(**extra) -> dict:
    """This environment without what would redirect the copy under test to this repository or its catalogue."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("PROCLAB_")}
    return {**env, **extra}


def _run(command, cwd, env=None, timeout=180) -> subprocess.CompletedProcess:
    proc = subprocess.run(command, cwd=cwd, env=env or _env(), capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    left = cleanup.living_descendants()
    if left:
        cleanup.kill_descendants()
    assert not left, f"{command[:3]} left processes running: {[p.pid for p in left]}"
    return proc


def _solution(ex) -> str:
    return os.path.join(REPO, "solutions", ex.topic, ex.file)


def _stub(ex) -> str:
    return os.path.join(REPO, ex.relpath)


# -- the student template ---------------------------------------------------------------------------------------


@pytest.fixture
def template(tmp_path):
    dest = tmp_path / "template"
    proc = _run([sys.executable, "-m", "graders.harness", "export", str(dest)], cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return dest


def test_template_holds_what_a_student_repository_needs_and_nothing_of_the_maintainers(template):
    for rel in EXCLUDED:
        assert not (template / rel).exists(), f"{rel} must not be in the student template"
    for folder, dirs, files in os.walk(template):
        leaked = [n for n in dirs + files if n in CACHES or n.endswith(".pyc")]
        assert not leaked, f"caches exported in {folder}: {leaked}"
    with open(os.path.join(REPO, ".github", "workflows", "grade.yml"), "rb") as f:
        assert (template / ".github" / "workflows" / "grade.yml").read_bytes() == f.read()
    pristine = ["graders/catalogue.toml", "noxfile.py", "pyproject.toml",
                *[f"graders/harness/{n}" for n in os.listdir(os.path.join(REPO, "graders", "harness"))
                  if n.endswith(".py")]]
    for ex in EXERCISES:
        pristine += [ex.relpath, os.path.relpath(ex.grader, REPO), os.path.relpath(ex.scenario, REPO)]
    for rel in pristine:
        with open(os.path.join(REPO, rel), "rb") as f:
            assert (template / rel).read_bytes() == f.read(), f"{rel} differs from the repository's"
    readme = (template / "README.md").read_text(encoding="utf-8")
    assert "nox -s verify" not in readme and "For maintainers" not in readme, readme
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
        title = f.readline().rstrip("\n")
    assert "nox -s grade" in readme and readme.splitlines()[0] == title


def test_student_readme_drops_the_maintainer_and_instructor_sections_only():
    text = ("# course\n\nintro\n\n## Quick start\n\n```sh\n## For maintainers (inside code: kept)\n"
            "nox -s grade\n```\n\n"
            "<!-- maintainers -->\nmarked nox -s verify\n<!-- /maintainers -->\n"
            "## For instructors\n\nexport DEST\n\n### Gradebook\n\nsudo nox -s gradebook\n\n"
            "## Platforms\n\nLinux only.\n\n## For maintainers\n\n```sh\nnox -s verify\n```\n\n## 给维护者\n\n维护\n")
    kept = export.student_readme(text)
    assert kept == ("# course\n\nintro\n\n## Quick start\n\n```sh\n## For maintainers (inside code: kept)\n"
                    "nox -s grade\n```\n\n## Platforms\n\nLinux only.\n"), kept


def test_template_grades_todo_as_exported_and_pass_once_the_solutions_are_copied_in(template, tmp_path):
    """Graded by the export's own copy of the harness (its repository root is where its modules are), without nox."""
    def grade(out):
        proc = _run([sys.executable, "-m", "graders.harness", "grade", "--quiet", "--out", str(out)], cwd=template)
        with open(out / "report.json") as f:
            return proc, json.load(f)

    proc, report = grade(tmp_path / "as-exported")
    assert proc.returncode == 1
    assert {e["id"]: e["status"] for e in report["exercises"]} == {ex.id: "todo" for ex in EXERCISES}, report
    assert report["score"] == 0
    for ex in EXERCISES:
        shutil.copyfile(_solution(ex), template / ex.relpath)
    proc, report = grade(tmp_path / "solved")
    assert {e["id"]: e["status"] for e in report["exercises"]} == {ex.id: "pass" for ex in EXERCISES}, report
    assert proc.returncode == 0 and report["score"] == report["max_score"] == sum(ex.points for ex in EXERCISES)


def test_export_refuses_a_destination_that_is_not_empty(tmp_path, capsys):
    dest = tmp_path / "taken"
    dest.mkdir()
    (dest / "mine.txt").write_text("keep me")
    assert export.template(str(dest)) == 2
    assert "not an empty folder" in capsys.readouterr().err
    assert [p.name for p in dest.iterdir()] == ["mine.txt"] and (dest / "mine.txt").read_text() == "keep me"


def test_export_refuses_a_stub_that_is_not_the_untouched_stub(tmp_path, capsys):
    repo = tmp_path / "repo"
    shutil.copytree(os.path.join(REPO, "graders"), repo / "graders",
                    ignore=shutil.ignore_patterns("mutants", "alternates", "__pycache__"))
    shutil.copytree(os.path.join(REPO, "exercises"), repo / "exercises")
    shutil.copyfile(os.path.join(REPO, "pyproject.toml"), repo / "pyproject.toml")
    edited = EXERCISES[0]
    with open(repo / edited.relpath, "a") as f:
        f.write("\n# work in progress\n")
    assert export.template(str(tmp_path / "template"), repo=str(repo)) == 2
    assert export.gradescope(str(tmp_path / "bundle.zip"), repo=str(repo)) == 2
    err = capsys.readouterr().err
    assert err.count(f"{edited.relpath} is not the untouched stub") == 2, err
    assert not (tmp_path / "template").exists() and not (tmp_path / "bundle.zip").exists()


# -- the Gradescope bundle --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> str:
    dest = tmp_path_factory.mktemp("gradescope") / "bundle.zip"
    proc = _run([sys.executable, "-m", "graders.harness", "export", "--gradescope", str(dest)], cwd=REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return str(dest)


def _autograder(tmp_path, bundle: str):
    """Gradescope's layout: the bundle unpacked (with its modes) in source/, run_autograder copied beside it."""
    root = tmp_path / "autograder"
    for folder in ("source", "submission", "results"):
        (root / folder).mkdir(parents=True)
    with zipfile.ZipFile(bundle) as zf:
        for info in zf.infolist():
            path = zf.extract(info, root / "source")
            os.chmod(path, (info.external_attr >> 16) & 0o777)
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    return root


def _submit(root, rel: str, src: str) -> None:
    dest = root / "submission" / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)


def _run_autograder(root, python: str = sys.executable) -> dict:
    env = _env(PROCLAB_AUTOGRADER_ROOT=str(root), PROCLAB_AUTOGRADER_PYTHON=python)
    proc = _run([str(root / "run_autograder")], cwd=root, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(root / "results" / "results.json") as f:
        results = json.load(f)
    assert set(results) <= SPEC_TOP, set(results) - SPEC_TOP
    assert results["visibility"] in VISIBILITIES and results["stdout_visibility"] in VISIBILITIES
    assert [t["max_score"] for t in results["tests"]] == [ex.points for ex in EXERCISES]
    for test in results["tests"]:
        assert set(test) <= SPEC_TEST and {"name", "score", "max_score", "status", "output", "visibility"} <= set(test)
        assert test["status"] in ("passed", "failed") and test["visibility"] in VISIBILITIES
    assert results["score"] == pytest.approx(sum(t["score"] for t in results["tests"]), abs=1e-9)
    return results


def _by_id(results: dict) -> dict:
    return {ex.id: test for ex, test in zip(EXERCISES, results["tests"])}


def test_gradescope_bundle_holds_the_scripts_and_the_pristine_tree_only(bundle):
    with zipfile.ZipFile(bundle) as zf:
        infos = {info.filename: info for info in zf.infolist()}
        requirements = zf.read("requirements.txt").decode().split()
        stubs = {ex.relpath: zf.read(ex.relpath) for ex in EXERCISES}
    for script in ("setup.sh", "run_autograder"):
        assert (infos[script].external_attr >> 16) & 0o777 == 0o755, f"{script} must be executable when unpacked"
    harness = [f"graders/harness/{n}" for n in os.listdir(os.path.join(REPO, "graders", "harness"))
               if n.endswith(".py")]
    wanted = {"requirements.txt", "graders/catalogue.toml", "noxfile.py", "pyproject.toml", *harness}
    for ex in EXERCISES:
        wanted |= {ex.relpath, os.path.relpath(ex.grader, REPO), os.path.relpath(ex.scenario, REPO)}
    assert wanted <= set(infos), wanted - set(infos)
    leaked = [n for n in infos if n.startswith(("solutions/", "tests/", "graders/mutants/", "graders/alternates/",
                                                "bench/", ".ci/", ".github/", ".git/")) or "__pycache__" in n]
    assert not leaked, leaked
    for ex in EXERCISES:
        assert catalogue.sha256_of(stubs[ex.relpath]) == ex.stub_sha256, f"{ex.relpath} is not the untouched stub"
    with open(os.path.join(REPO, "pyproject.toml"), "rb") as f:
        group = tomllib.load(f)["dependency-groups"]["grade"]
    assert requirements == [item for item in group if isinstance(item, str)]


def test_gradescope_setup_and_run_autograder_are_valid_bash(bundle, tmp_path):
    root = _autograder(tmp_path, bundle)
    for script in (root / "source" / "setup.sh", root / "run_autograder"):
        proc = _run(["bash", "-n", str(script)], cwd=tmp_path, timeout=30)
        assert proc.returncode == 0, f"{script.name}: {proc.stderr}"


def test_gradescope_scores_the_solved_exercises_and_zero_for_the_stubs(bundle, tmp_path):
    """Two solutions and two stubs, each pair in both layouts: exercises/<topic>/<file> and the bare file."""
    root = _autograder(tmp_path, bundle)
    solved, stubs = EXERCISES[:2], EXERCISES[2:4]
    _submit(root, solved[0].relpath, _solution(solved[0]))
    _submit(root, solved[1].file, _solution(solved[1]))
    _submit(root, stubs[0].relpath, _stub(stubs[0]))
    _submit(root, stubs[1].file, _stub(stubs[1]))
    results = _run_autograder(root)
    tests = _by_id(results)
    assert results["score"] == sum(ex.points for ex in solved), results["output"]
    for ex in solved:
        assert tests[ex.id]["score"] == ex.points and tests[ex.id]["status"] == "passed", tests[ex.id]["output"]
    for ex in stubs:
        assert tests[ex.id]["score"] == 0 and tests[ex.id]["status"] == "failed", tests[ex.id]["output"]
        assert "todo" in tests[ex.id]["output"]
    assert f"graded {solved[1].file} of your submission" in tests[solved[1].id]["output"]
    if os.geteuid() == 0:
        assert results["extra_data"]["isolation"] == "separate-user", results["output"]


def test_gradescope_refuses_symlinks_and_special_files_in_the_submission(bundle, tmp_path):
    """Each link leads to a solution: following one would earn its points."""
    root = _autograder(tmp_path, bundle)
    sub = root / "submission"
    one_per_topic = list({ex.topic: ex for ex in reversed(EXERCISES)}.values())[::-1]  # no two share a folder
    first, second, third, fourth = one_per_topic[:4]
    _submit(root, f"notes/{first.file}", _solution(first))
    (sub / first.relpath).parent.mkdir(parents=True)
    os.symlink(os.path.join("..", "..", "notes", first.file), sub / first.relpath)  # a link inside the upload
    os.symlink(_solution(second), sub / second.file)  # a link out of it
    _submit(root, f"elsewhere/{third.file}", _solution(third))
    os.symlink(os.path.join("..", "elsewhere"), sub / "exercises" / third.topic)  # a linked folder on the way
    os.mkfifo(sub / fourth.file)  # a named pipe, which would block a reader
    results = _run_autograder(root)
    tests = _by_id(results)
    assert results["score"] == 0, results["output"]
    for ex in (first, second, third):
        assert tests[ex.id]["score"] == 0 and "is a symbolic link" in tests[ex.id]["output"], tests[ex.id]["output"]
    assert tests[fourth.id]["score"] == 0 and "named pipe" in tests[fourth.id]["output"], tests[fourth.id]["output"]
    for ex in EXERCISES:
        assert catalogue.sha256_of(str(root / "source" / ex.relpath)) == ex.stub_sha256, "a refused file was copied"


def test_gradescope_gives_zero_with_the_reason_when_grading_crashes(bundle, tmp_path):
    root = _autograder(tmp_path, bundle)
    for ex in EXERCISES[:2]:
        _submit(root, ex.relpath, _solution(ex))
    (root / "source" / "graders" / "harness" / "cli.py").write_text("raise SystemExit(3)\n")  # grading dies at once
    results = _run_autograder(root)
    assert results["score"] == 0
    assert "Grading did not finish" in results["output"] and "exit code 3" in results["output"], results["output"]
    for ex in EXERCISES[:2]:
        test = _by_id(results)[ex.id]
        assert test["score"] == 0 and test["status"] == "failed" and "not graded" in test["output"], test


def test_gradescope_gives_zero_with_the_reason_when_the_grader_cannot_start(bundle, tmp_path):
    root = _autograder(tmp_path, bundle)
    for ex in EXERCISES:
        _submit(root, ex.relpath, _solution(ex))
    results = _run_autograder(root, python=str(tmp_path / "no-such-python"))
    assert results["score"] == 0 and all(t["score"] == 0 for t in results["tests"])
    assert "could not start" in results["output"], results["output"]


def test_autograde_refuses_to_run_outside_an_unpacked_bundle(tmp_path):
    """It replaces exercises/ with the submission: in this repository that would overwrite the stubs."""
    proc = _run([sys.executable, "-m", "graders.harness.export", "autograde", str(tmp_path)], cwd=REPO)
    assert proc.returncode == 2 and "only in an unpacked Gradescope bundle" in proc.stderr, proc.stderr
    assert not (tmp_path / "results" / "results.json").exists()
    for ex in EXERCISES:
        assert catalogue.sha256_of(_stub(ex)) == ex.stub_sha256
