"""The GitHub workflows: grade.yml is what the catalogue generates, both workflows keep to the lint rules that
zizmor enforces in `nox -s lint`, and a simulated grading run (graders/harness/ci_grade.py, as grade.yml runs
it) grades a student's exercises/ with the template's graders however the student edited their own."""

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import time
from xml.etree import ElementTree

import pytest
from conftest import EXERCISES, REPO

from graders.harness import ci_grade, cleanup, workflows
from graders.harness.catalogue import Exercise

WORKFLOWS = os.path.join(REPO, ".github", "workflows")
TEMPLATE_FILES = ["graders", "exercises", "noxfile.py", "pyproject.toml", ".github"]
CLEAN = shutil.ignore_patterns("__pycache__", "*.pyc", ".grade")
SOLVED = {"reaper", "bank"}  # the student's exercises/ holds these solutions; pipe_chain stays the stub
LINKED = "graceful_worker"  # ... and this one is a symbolic link out of the repository


def workflow_files() -> list[str]:
    return sorted(os.path.join(WORKFLOWS, name) for name in os.listdir(WORKFLOWS) if name.endswith((".yml", ".yaml")))


def read(path) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


# --- grade.yml is generated from the catalogue ---------------------------------------------------------------

def test_grade_yml_is_what_the_catalogue_generates():
    differences = workflows.check()
    assert differences == [], ("grade.yml differs from what graders/catalogue.toml generates; run "
                               "`python -m graders.harness.workflows --write`:\n" + "\n".join(differences))


def test_grade_yml_has_one_classroom_runner_and_one_results_line_per_exercise():
    text = read(workflows.GRADE_YML)
    runners = re.findall(r"^\s+runners: (\S+)$", text, re.M)
    assert runners == [",".join(ex.id for ex in EXERCISES)]
    for ex in EXERCISES:
        assert f"          {ex.id.upper()}_RESULTS: ${{{{ steps.grade.outputs.{ex.id} }}}}\n" in text


def test_check_reports_a_hand_edited_grade_yml_and_a_new_exercise(tmp_path):
    edited = tmp_path / "grade.yml"
    first, second = EXERCISES[0].id, EXERCISES[1].id  # the Classroom reporter's runners, the first one dropped
    edited.write_text(read(workflows.GRADE_YML).replace(f"runners: {first},{second},", f"runners: {second},"),
                      encoding="utf-8")
    differences = workflows.check(str(edited))
    assert any(line.startswith("-") and f"runners: {second}," in line for line in differences), differences
    assert any(line.startswith("+") and f"runners: {first},{second}," in line for line in differences), differences

    more = [*EXERCISES, Exercise(id="shm_ring", topic="06_ipc", title="A ring", file="ring.py", points=5, timeout=5)]
    differences = workflows.check(workflows.GRADE_YML, more)
    assert "+          SHM_RING_RESULTS: ${{ steps.grade.outputs.shm_ring }}" in differences
    missing = workflows.check(str(tmp_path / "absent.yml"))
    assert len(missing) == 1 and missing[0].endswith("absent.yml is missing")


def test_an_exercise_id_that_cannot_name_a_classroom_runner_is_refused():
    with pytest.raises(ValueError, match="cannot name Classroom runners"):
        workflows.render([Exercise(id="pipe-chain", topic="03_pipes", title="x", file="x.py", points=1, timeout=1)])


# --- what zizmor checks, checked here too (nox -s lint runs zizmor itself) -----------------------------------

@pytest.mark.parametrize("path", workflow_files(), ids=os.path.basename)
def test_every_action_is_pinned_by_full_commit_hash_with_its_release(path):
    uses = re.findall(r"^\s*(?:- )?uses: (.*)$", read(path), re.M)
    assert uses
    for use in uses:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+\.\d+)?", use), use


@pytest.mark.parametrize("path", workflow_files(), ids=os.path.basename)
def test_every_checkout_keeps_no_credentials(path):
    steps = re.split(r"^\s+- ", read(path), flags=re.M)
    checkouts = [step for step in steps if re.search(r"uses: actions/checkout@", step)]
    assert checkouts
    for step in checkouts:
        assert re.search(r"^\s+persist-credentials: false$", step, re.M), step


@pytest.mark.parametrize("path", workflow_files(), ids=os.path.basename)
def test_no_expression_is_interpolated_into_a_script(path):
    """Template injection: a value reaches a `run:` script through `env:`, never as ${{ }} in its text."""
    lines = read(path).splitlines()
    for n, line in enumerate(lines):
        match = re.match(r"^(\s*)(- )?run: ?(.*)$", line)
        if not match:
            continue
        script = [match.group(3)]
        key = len(match.group(1)) + len(match.group(2) or "")  # the column of `run`
        for following in lines[n + 1:]:  # a block scalar's lines are indented further than its key
            if following.strip() and len(following) - len(following.lstrip()) <= key:
                break
            script.append(following)
        assert "${{" not in "\n".join(script), f"line {n + 1}: {line}"


@pytest.mark.parametrize("path", workflow_files(), ids=os.path.basename)
def test_the_token_may_only_read_the_repository(path):
    text = read(path)
    assert re.search(r"^permissions: \{\}$", text, re.M), "no top-level `permissions: {}`"
    granted = re.findall(r"^\s+(\w[\w-]*): (read|write)\b", text, re.M)
    assert granted and set(granted) == {("contents", "read")}, granted


def test_the_grading_step_passes_on_every_variable_that_ci_grade_reads():
    text = read(workflows.GRADE_YML)
    assert 'sudo --preserve-env="$keep" env "PATH=$PATH" python -m graders.harness.ci_grade grade' in text
    preserved = re.search(r"^\s+keep=(\S+)$", text, re.M).group(1).split(",")
    for name in ("GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT",
                 ci_grade.TEMPLATE_VAR, ci_grade.REF_VAR, ci_grade.COMMIT_VAR):
        assert name in preserved, name
    assert "PROCLAB_TEMPLATE: ${{ vars.PROCLAB_TEMPLATE }}" in text and "PROCLAB_REF: ${{ vars.PROCLAB_REF }}" in text
    assert "if: github.actor != 'github-classroom[bot]'" in text


# --- ci_grade's parts, without grading ------------------------------------------------------------------------

def make_template(root) -> str:
    """A pristine template checkout: a clean copy of this repository's grading files."""
    os.makedirs(root)
    for name in TEMPLATE_FILES:
        src, dest = os.path.join(REPO, name), os.path.join(root, name)
        if os.path.isdir(src):
            shutil.copytree(src, dest, ignore=CLEAN, symlinks=True)
        else:
            shutil.copy2(src, dest)
    return str(root)


def test_copy_takes_ordinary_files_and_refuses_links_folders_and_missing_files(tmp_path):
    student, tree = tmp_path / "student", tmp_path / "tree"
    for root in (student, tree):
        for ex in EXERCISES:
            (root / ex.relpath).parent.mkdir(parents=True, exist_ok=True)
            (root / ex.relpath).write_text(f"# {root.name}'s {ex.id}\n")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "bank.py").write_text("# a file outside exercises/\n")  # what the link would give
    by_id = {ex.id: ex for ex in EXERCISES}
    four = reaper, pipes, worker, bank = [by_id[i] for i in ("reaper", "pipe_chain", "graceful_worker", "bank")]
    (student / reaper.relpath).write_text("# my reaper\n")
    (student / pipes.relpath).unlink()
    (student / pipes.relpath).mkdir()  # a folder where the file should be
    (student / worker.relpath).unlink()
    os.symlink("../02_states/reaper.py", student / worker.relpath)  # a link, even one inside exercises/
    shutil.rmtree(student / "exercises" / bank.topic)
    os.symlink(tmp_path / "elsewhere", student / "exercises" / bank.topic)  # a linked topic folder

    refused = ci_grade.copy_exercises(str(student), str(tree), four)

    assert (tree / reaper.relpath).read_text() == "# my reaper\n"
    assert set(refused) == {pipes.id, worker.id, bank.id}
    assert "is a folder" in refused[pipes.id]
    assert refused[worker.id].startswith(f"{worker.relpath} is a symbolic link (to ../02_states/reaper.py)")
    assert refused[bank.id].startswith(f"exercises/{bank.topic} is a symbolic link")
    for ex in (pipes, worker, bank):  # nothing of a refused file, and not the template's stub either
        assert not os.path.lexists(tree / ex.relpath), ex.id
    assert (tmp_path / "elsewhere" / "bank.py").read_text() == "# a file outside exercises/\n"

    (student / reaper.relpath).unlink()
    refused = ci_grade.copy_exercises(str(student), str(tree), [reaper])
    assert refused == {reaper.id: f"{reaper.relpath} is missing: git checkout -- {reaper.relpath} restores the stub"}


def test_changed_paths_names_what_the_push_added_removed_or_changed_in_the_grading_files(tmp_path):
    template = make_template(tmp_path / "template")
    student = tmp_path / "student"
    shutil.copytree(template, student, symlinks=True)
    first = EXERCISES[0]
    (student / "graders" / first.topic / f"test_{first.id}.py").write_text("def test_x():\n    pass\n")
    (student / "graders" / "conftest.py").write_text("# added\n")
    (student / "noxfile.py").unlink()
    (student / "pyproject.toml").write_text(read(student / "pyproject.toml") + "\n")  # one byte more
    (student / ".github" / "workflows" / "cheat.yml").write_text("name: cheat\n")
    os.remove(student / ".github" / "workflows" / "grade.yml")
    os.symlink("ci.yml", student / ".github" / "workflows" / "grade.yml")
    (student / "exercises" / "02_states" / "notes.txt").write_text("not a grading file\n")
    (student / "graders" / "__pycache__").mkdir(exist_ok=True)
    (student / "graders" / "__pycache__" / "x.pyc").write_bytes(b"written by grading")

    assert ci_grade.changed_paths(str(student), template) == [
        f"graders/{first.topic}/test_{first.id}.py", "graders/conftest.py (added)",
        "noxfile.py (removed)", "pyproject.toml",
        ".github/workflows/cheat.yml (added)", ".github/workflows/grade.yml"]
    assert ci_grade.changed_paths(template, template) == []


def test_incomplete_variables_are_an_error_that_names_the_missing_one(capsys):
    ci_grade.announce(ci_grade.Origin(template="course/proclab"))
    out = capsys.readouterr().out
    assert out.startswith("::error title=PROCLAB_REF is not set::PROCLAB_TEMPLATE is set but PROCLAB_REF is not")
    ci_grade.announce(ci_grade.Origin(template="course/proclab", ref="v2.1.0"))
    assert capsys.readouterr().out.startswith("Graded by the template course/proclab at v2.1.0:")


def test_requirements_resolve_included_dependency_groups(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[dependency-groups]\ngrade = ["pytest>=8", "psutil"]\n'
                         'verify = [{ include-group = "grade" }, "pytest-xdist", "psutil"]\n'
                         'loop = [{ include-group = "loop" }]\n')
    assert ci_grade.requirements(str(pyproject), "verify") == ["pytest>=8", "psutil", "pytest-xdist"]
    with pytest.raises(ValueError, match="includes itself"):
        ci_grade.requirements(str(pyproject), "loop")
    with pytest.raises(ValueError, match="no dependency group 'lint'"):
        ci_grade.requirements(str(pyproject), "lint")


# --- a simulated run of grade.yml's grading step --------------------------------------------------------------

def make_student(template: str, root) -> str:
    """The student's push: solutions for SOLVED, the stub for pipe_chain, a link for LINKED, and every grader
    test replaced by one that always passes."""
    shutil.copytree(template, root, symlinks=True)
    for ex in EXERCISES:
        if ex.id in SOLVED:
            shutil.copy(os.path.join(REPO, "solutions", ex.topic, ex.file), root / ex.relpath)
        elif ex.id == LINKED:
            os.remove(root / ex.relpath)
            os.symlink("/etc/passwd", root / ex.relpath)
        (root / "graders" / ex.topic / f"test_{ex.id}.py").write_text("def test_x():\n    pass\n")
    return str(root)


def run_ci_grade(tmp_path, grader: str, student: str, variables: dict) -> tuple[subprocess.CompletedProcess, dict]:
    """`python -m graders.harness.ci_grade grade --student STUDENT` in GRADER, as the workflow runs it."""
    github = {"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(tmp_path / "github_output"),
              "GITHUB_STEP_SUMMARY": str(tmp_path / "step_summary.md"), **variables}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "PROCLAB_"))} | github
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "graders.harness.ci_grade", "grade", "--student", student],
                          cwd=grader, env=env, capture_output=True, text=True, timeout=300)
    print(f"ci_grade took {time.monotonic() - started:.1f} s\n{proc.stdout}{proc.stderr}")
    left = cleanup.living_descendants()
    if left:
        cleanup.kill_descendants()
    assert not left, f"grading left processes running: {[p.pid for p in left]}"
    return proc, github


def classroom_outputs(path: str) -> dict[str, dict]:
    found = {}
    for line in read(path).splitlines():
        ident, _, value = line.partition("=")
        assert ident not in found, f"two outputs named {ident}"
        found[ident] = json.loads(base64.b64decode(value))
    return found


def summary_rows(text: str) -> dict[str, tuple[str, float, float]]:
    """{exercise: (status, score, max)} from the step summary's table (cells are Markdown-escaped)."""
    rows = {}
    for line in text.splitlines():
        cells = [cell.strip().replace("\\", "") for cell in line.strip().strip("|").split(" | ")]
        if len(cells) >= 4 and re.fullmatch(r"[\d.]+/[\d.]+", cells[3]):
            score, top = cells[3].split("/")
            rows[cells[1]] = (cells[2], float(score), float(top))
    return rows


def junit_scores(path: str, points: dict[str, int]) -> dict[str, float]:
    """{exercise: score} from junit.xml: the exercise's points times the share of its cases that passed."""
    scores = {}
    for suite in ElementTree.parse(path).getroot().iter("testsuite"):
        cases = suite.findall("testcase")
        assert len(cases) == int(suite.get("tests"))
        passed = sum(not any(case.find(kind) is not None for kind in ("failure", "error", "skipped")) for case in cases)
        scores[suite.get("name")] = round(points[suite.get("name")] * passed / len(cases), 2)
    return scores


def assert_outputs_agree(grader: str, github: dict) -> dict:
    """The Classroom output of each exercise, the step summary, report.json, gradescope.json and junit.xml
    give every exercise the same status, score and maximum; returns report.json."""
    out = os.path.join(grader, ".grade")
    report = json.loads(read(os.path.join(out, "report.json")))
    entries = {e["id"]: e for e in report["exercises"]}
    assert list(entries) == [ex.id for ex in EXERCISES]
    classroom = classroom_outputs(github["GITHUB_OUTPUT"])
    rows = summary_rows(read(github["GITHUB_STEP_SUMMARY"]))
    gradescope = json.loads(read(os.path.join(out, "gradescope.json")))
    by_name = {t["name"].split("/")[-1]: t for t in gradescope["tests"]}
    junit = junit_scores(os.path.join(out, "junit.xml"), {ex.id: ex.points for ex in EXERCISES})
    for ident, entry in entries.items():
        passed = entry["status"] == "pass"
        runner = classroom[ident]
        assert runner["max_score"] == entry["max_score"]
        assert sum(t["score"] for t in runner["tests"]) == pytest.approx(entry["score"], abs=0.01)
        assert len(runner["tests"]) == len(entry["tests"])
        assert (runner["status"] == "pass") == passed
        assert rows[ident] == (entry["status"], pytest.approx(entry["score"]), entry["max_score"])
        assert (by_name[ident]["score"], by_name[ident]["max_score"]) == (entry["score"], entry["max_score"])
        assert (by_name[ident]["status"] == "passed") == passed
        assert junit[ident] == pytest.approx(entry["score"], abs=0.01)
    assert gradescope["score"] == report["score"] == sum(e["score"] for e in entries.values())
    assert f"**Score: {report['score']:g}/{report['max_score']:g}**" in read(github["GITHUB_STEP_SUMMARY"])
    return report


def test_a_push_is_graded_by_the_template_however_the_student_edited_the_graders(tmp_path):
    template = make_template(tmp_path / "grader")  # grade.yml checks the template out into grader/
    student = make_student(template, tmp_path / "student")
    proc, github = run_ci_grade(tmp_path, template, student, {
        "PROCLAB_TEMPLATE": "course/proclab", "PROCLAB_REF": "v2.1.0",
        "PROCLAB_COMMIT": "0123456789abcdef0123456789abcdef01234567"})

    assert proc.returncode == 1, "not every exercise passes, so the step must fail"
    report = assert_outputs_agree(template, github)
    statuses = {e["id"]: e["status"] for e in report["exercises"]}
    assert statuses == {ex.id: "pass" if ex.id in SOLVED else "error" if ex.id == LINKED else "todo"
                        for ex in EXERCISES}, "the template's graders give the true score"
    assert report["score"] == sum(ex.points for ex in EXERCISES if ex.id in SOLVED)
    assert report["isolation"] == "separate-user"
    linked = next(e for e in report["exercises"] if e["id"] == LINKED)
    assert linked["tests"][0]["message"].startswith("exercises/04_signals/graceful_worker.py is a symbolic link")

    origin = "the template course/proclab at v2.1.0 (commit 0123456789ab)"
    assert f"Graded by {origin}" in proc.stdout
    assert f"Graded by {origin}" in read(github["GITHUB_STEP_SUMMARY"]).replace("\\", "")
    warnings = [line for line in proc.stdout.splitlines() if line.startswith("::warning ")]
    assert len(warnings) == 1
    for ex in EXERCISES:
        assert f"graders/{ex.topic}/test_{ex.id}.py" in warnings[0]
    assert "exercises/" not in warnings[0].partition("Changed:")[2]
    errors = [line for line in proc.stdout.splitlines() if line.startswith("::error ")]
    assert errors == [line for line in errors if line.startswith(f"::error file=exercises/04_signals/{LINKED}.py,")]
    assert len(errors) == 1
    # the student's tree is only read
    assert os.path.islink(os.path.join(student, "exercises", "04_signals", f"{LINKED}.py"))
    assert not os.path.exists(os.path.join(student, ".grade"))


def test_without_the_variables_the_push_grades_itself_and_a_warning_says_so(tmp_path):
    student = make_student(make_template(tmp_path / "template"), tmp_path / "student")
    grader = tmp_path / "grader"
    shutil.copytree(student, grader, symlinks=True)  # grade.yml checks the push itself out into grader/
    proc, github = run_ci_grade(tmp_path, str(grader), student, {"PROCLAB_TEMPLATE": "", "PROCLAB_REF": ""})

    report = assert_outputs_agree(str(grader), github)
    statuses = {e["id"]: e["status"] for e in report["exercises"]}
    # the edited graders pass everything; only the link, which no grader sees, is refused
    assert statuses == {ex.id: "error" if ex.id == LINKED else "pass" for ex in EXERCISES}
    assert proc.returncode == 1
    warnings = [line for line in proc.stdout.splitlines() if line.startswith("::warning ")]
    assert len(warnings) == 1
    assert warnings[0].startswith("::warning title=Graded with this push's own graders::PROCLAB_TEMPLATE and "
                                  "PROCLAB_REF are not set")
    assert "Graded by the graders of this push itself" in proc.stdout
    assert "Graded by the graders of this push itself" in read(github["GITHUB_STEP_SUMMARY"])
