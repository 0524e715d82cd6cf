"""The harness itself, on a probe exercise (tests/probe): isolation, reports, crashes."""

import json
import os
import subprocess
import sys
from xml.etree import ElementTree

import pytest
from conftest import REPO, grade

from graders.harness import grading, scoring

PROBE = os.path.join(REPO, "tests", "probe")
PROBE_ENV = {"PROCLAB_CATALOGUE": os.path.join(PROBE, "catalogue.toml")}
PROBE_ARGS = ("--target", os.path.join(PROBE, "exercises"))

REPORT_FIELDS = {"score", "max_score", "exercises", "isolation"}
EXERCISE_FIELDS = {"id", "topic", "title", "file", "status", "score", "max_score", "tests", "flags"}
TEST_FIELDS = {"name", "status", "message", "duration"}


def test_probe_passes_in_isolation(tmp_path):
    """Its tests check: bytes cross the result pipe, the parent is the warden (never pytest),
    PYTHONUNBUFFERED is gone, cwd is the private directory, events and programs work."""
    run = grade(tmp_path, *PROBE_ARGS, env={**PROBE_ENV, "PYTHONUNBUFFERED": "1"})
    assert run.statuses() == {"probe": "pass"}, run.report


def test_report_has_exactly_the_designed_fields(tmp_path):
    run = grade(tmp_path, *PROBE_ARGS, env=PROBE_ENV)
    assert set(run.report) == REPORT_FIELDS
    for entry in run.report["exercises"]:
        assert set(entry) == EXERCISE_FIELDS
        for test in entry["tests"]:
            assert set(test) >= TEST_FIELDS
            assert test["status"] in ("pass", "fail", "todo", "error")


def test_junit_and_gradescope_are_written(tmp_path):
    grade(tmp_path, *PROBE_ARGS, env=PROBE_ENV)
    suites = ElementTree.parse(tmp_path / "grade" / "junit.xml").getroot()
    assert [case.get("name") for case in suites.iter("testcase")]
    with open(tmp_path / "grade" / "gradescope.json") as f:
        assert json.load(f)["score"] == 2


def test_github_outputs_agree_with_the_score(tmp_path):
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs"
    run = grade(tmp_path, *PROBE_ARGS, env={**PROBE_ENV, "GITHUB_ACTIONS": "true",
                                            "GITHUB_STEP_SUMMARY": str(summary), "GITHUB_OUTPUT": str(outputs)})
    assert "Score: 2/2" in summary.read_text()
    import base64
    name, _, value = outputs.read_text().strip().partition("=")
    assert name == "probe"
    result = json.loads(base64.b64decode(value))
    per_test = sum(t["score"] for t in result["tests"])
    shown = sum(t["status"] == "pass" for t in result["tests"]) / len(result["tests"]) * result["max_score"]
    assert abs(per_test - shown) < 1e-9 and abs(per_test - run.report["max_score"]) < 1e-9


def test_report_is_written_when_the_run_crashes(tmp_path):
    broken = tmp_path / "broken"
    (broken / "00_probe").mkdir(parents=True)
    (broken / "catalogue.toml").write_text(open(os.path.join(PROBE, "catalogue.toml")).read())
    (broken / "00_probe" / "test_probe.py").write_text("this is not python\n")
    run = grade(tmp_path, *PROBE_ARGS, env={"PROCLAB_CATALOGUE": str(broken / "catalogue.toml")})
    assert run.returncode != 0
    assert run.report["exercises"][0]["status"] == "error"
    assert "crashed" in run.report


def test_grade_refuses_other_systems_with_directions(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "platform", "darwin")
    with pytest.raises(SystemExit) as stop:
        grading.grade([], "exercises", [], str(tmp_path))
    assert "WSL2" in str(stop.value) and "Codespace" in str(stop.value)


def test_exercise_status_rules():
    def tests(*statuses):
        return [{"status": s} for s in statuses]
    assert scoring.exercise_status(tests("pass", "pass")) == "pass"
    assert scoring.exercise_status(tests("pass", "fail", "error")) == "fail"
    assert scoring.exercise_status(tests("error", "todo")) == "error"
    assert scoring.exercise_status(tests("todo", "pass")) == "todo"
    assert scoring.exercise_status([]) == "error"


def _cli(*args, env=None):
    import subprocess
    return subprocess.run([sys.executable, "-m", "graders.harness", *args], cwd=REPO, capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=120)


def test_list_and_export(tmp_path):
    listing = _cli("list")
    assert listing.returncode == 0 and "Next:" in listing.stdout or "All exercises pass" in listing.stdout
    dest = tmp_path / "template"
    assert _cli("export", str(dest)).returncode == 0
    assert (dest / "exercises").is_dir() and (dest / "graders" / "catalogue.toml").exists()
    assert not (dest / "solutions").exists() and not (dest / "graders" / "mutants").exists()
    assert not (dest / "tests").exists()


def test_grading_does_not_depend_on_root(nobody):
    """Students and GitHub runners are not root (RLIMIT_NPROC holds, no cgroup may be written,
    root's folders are closed). As root, grade the solutions and a fork bomb as `nobody`."""
    code, entries, _ = nobody("--target", "solutions")
    assert code == 0, {i: e["tests"] for i, e in entries.items() if e["status"] != "pass"}
    code, entries, _ = nobody("pipe_chain", "--target", "solutions",
                              "--submit", "pipe_chain=tests/hostile/pipe_chain/forks_hundreds.py")
    assert entries["pipe_chain"]["status"] == "fail"
    messages = " ".join(t["message"] for t in entries["pipe_chain"]["tests"])
    # which check meets the bomb first depends on how fast it forks (the same sentences as test_hostile)
    assert any(s in messages for s in ("process budget", "BlockingIOError", "no process was running")), messages


def test_a_file_that_does_not_compile_is_an_error_named_at_its_line(tmp_path):
    broken = tmp_path / "probe.py"
    broken.write_text("def echo(value):\n    return value +\n")
    run = grade(tmp_path, *PROBE_ARGS, "--submit", f"probe={broken}", env=PROBE_ENV)
    assert run.statuses() == {"probe": "error"}
    messages = run.messages("probe")
    assert all("probe.py does not compile" in m and "line 2" in m for m in messages), messages


def test_not_implemented_is_todo_at_once_for_every_test(tmp_path):
    stub = tmp_path / "probe.py"
    stub.write_text("def echo(value):\n    raise NotImplementedError\n\n\ndef spawn_and_wait():\n"
                    "    raise NotImplementedError\n")
    run = grade(tmp_path, *PROBE_ARGS, "--submit", f"probe={stub}", env=PROBE_ENV)
    assert run.statuses() == {"probe": "todo"}
    assert run.report["score"] == 0


def test_gradebook_grades_each_submission_into_a_csv(tmp_path):
    import csv
    import shutil
    submissions = tmp_path / "submissions"
    shutil.copytree(os.path.join(REPO, "solutions"), submissions / "alice" / "exercises")
    shutil.copytree(os.path.join(REPO, "exercises"), submissions / "bob" / "exercises")
    book = tmp_path / "book.csv"
    assert _cli("gradebook", str(submissions), "--csv", str(book)).returncode == 0
    with open(book) as f:
        rows = {row["submission"]: row for row in csv.DictReader(f)}
    assert float(rows["alice"]["score"]) == float(rows["alice"]["max_score"]) > 0
    assert float(rows["bob"]["score"]) == 0


# --- failing closed: a verdict that was not reached is never a pass --------------------------------

def _records(*names, status="pass", ident="probe"):
    return [{"kind": "verdict", "id": ident, "test": n, "status": status, "message": "", "duration": 0.1,
             "flags": []} for n in names]


def _probe():
    from graders.harness import catalogue
    return catalogue.load(os.path.join(PROBE, "catalogue.toml"))


def test_every_collected_check_must_report_exactly_once():
    collected = [{"id": "probe", "test": n} for n in ("a", "b", "c")]
    whole = scoring.build(_probe(), _records("a", "b", "c"), collected, "separate-user")
    assert whole["exercises"][0]["status"] == "pass" and whole["score"] == whole["max_score"]
    for records, why in ((_records("a", "b"), "a verdict is missing (pytest was killed)"),
                         (_records("a", "b", "c", "c"), "a verdict arrived twice"),
                         (_records("a", "b", "c", "d"), "a verdict for a check never collected")):
        doc = scoring.build(_probe(), records, collected, "separate-user", crashed="killed")
        entry = doc["exercises"][0]
        assert entry["status"] == "error" and entry["score"] == 0 and doc["score"] == 0, why


def test_nothing_collected_is_an_error_not_a_pass():
    doc = scoring.build(_probe(), _records("a"), None, "same-user", crashed="the grading process stopped")
    assert doc["exercises"][0]["status"] == "error" and doc["score"] == 0


def test_a_flag_takes_every_point_of_its_exercise():
    collected = [{"id": "probe", "test": "a"}]
    records = _records("a")
    records[0]["flags"] = ["your code called sys._getframe()"]
    entry = scoring.build(_probe(), records, collected, "separate-user")["exercises"][0]
    assert entry["score"] == 0 and entry["status"] == "fail" and entry["flags"]


def test_a_malformed_or_unknown_record_marks_the_run_crashed():
    r, w = os.pipe()
    results = grading.Results(r)
    os.write(w, b'{"kind": "collected", "tests": [], "isolation": "separate-user"}\nnot json\n{"kind": "x"}\n')
    os.close(w)
    while not results.eof:
        results.pump(1.0)
    os.close(r)
    assert results.malformed == 2 and results.isolation == "separate-user" and not results.done


def test_cgroup_v2_holds_kills_and_empties_a_tree():
    """GitHub's runners use cgroup v2. Here the v2 hierarchy (if mounted without controllers) still
    proves membership, cgroup.kill and removal on a process whose main thread has left."""
    import ctypes
    import threading
    import time as time_

    from graders.harness import cleanup, containment
    unified = "/sys/fs/cgroup/unified"
    if not containment.available(unified) or not os.path.exists(os.path.join(unified, "cgroup.controllers")):
        pytest.skip("no writable cgroup v2 hierarchy here")
    group = containment.Cgroups(f"proclab-{os.getpid()}-selftest", root=unified)
    assert group.v2
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        with open(group.procs_files()[0], "w") as f:
            f.write(str(os.getpid()))
        threading.Thread(target=time_.sleep, args=(30,)).start()
        os.write(ready_w, b".")
        ctypes.CDLL(None).syscall(60, 0)  # the main thread leaves; the process lives on as a Z leader
        os._exit(0)
    try:
        assert os.read(ready_r, 1) == b"."
        time_.sleep(0.05)
        assert pid in group.pids(), "a zombie leader with a live thread must still count as in the cgroup"
        assert group.kill_all(cleanup.reap_zombies)
        assert not group.pids()
    finally:
        os.close(ready_r)
        os.close(ready_w)
        group.kill_all(cleanup.reap_zombies)
        group.remove()
    assert not os.path.exists(group.paths["unified"])


def _catalogue_with(tmp_path, graders: dict[str, str]):
    """A course of the probe and one extra exercise per GRADERS entry (id -> grader source)."""
    home = tmp_path / "course"
    (home / "00_probe").mkdir(parents=True)
    for name in ("test_probe.py", "scenario_probe.py"):
        (home / "00_probe" / name).write_text(open(os.path.join(PROBE, "00_probe", name)).read())
    text = open(os.path.join(PROBE, "catalogue.toml")).read()
    for ident, source in graders.items():
        (home / "00_probe" / f"test_{ident}.py").write_text(source)
        text += (f'\n[[exercise]]\nid = "{ident}"\ntopic = "00_probe"\ntitle = "{ident}"\nfile = "probe.py"\n'
                 'points = 2\ntimeout = 2\nconcepts = ["x"]\nhints = ["a", "b", "c"]\n')
    (home / "catalogue.toml").write_text(text)
    return {"PROCLAB_CATALOGUE": str(home / "catalogue.toml")}


def test_a_grading_process_that_dies_costs_only_its_own_exercises(tmp_path):
    env = _catalogue_with(tmp_path, {"crasher": "import os, signal\n\n\ndef test_dies():\n"
                                                "    os.kill(os.getpid(), signal.SIGKILL)\n"})
    run = grade(tmp_path, *PROBE_ARGS, "--jobs", "2", env=env)
    assert run.statuses() == {"probe": "pass", "crasher": "error"}, run.output
    assert run.entry("crasher")["score"] == 0 and run.returncode == 1
    assert "killed by signal 9" in run.report["crashed"], run.report["crashed"]


def test_each_exercise_line_is_printed_as_soon_as_it_is_graded(tmp_path):
    """The second exercise cannot finish until this test has read the first one's line."""
    go = tmp_path / "go"
    env = _catalogue_with(tmp_path, {"later": "import os, time\n\n\ndef test_waits_for_the_first_line():\n"
                                              f"    deadline = time.monotonic() + 60\n"
                                              f"    while not os.path.exists({str(go)!r}):\n"
                                              "        assert time.monotonic() < deadline\n"
                                              "        time.sleep(0.01)\n"})
    proc = subprocess.Popen([sys.executable, "-m", "graders.harness", "grade", "--out", str(tmp_path / "out"),
                             *PROBE_ARGS, "--jobs", "2"], cwd=REPO, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, **env})
    try:
        seen = []
        for line in proc.stdout:
            seen.append(line)
            if line.split()[:3] == ["00_probe", "probe", "pass"]:
                go.touch()
                break
        assert go.exists(), f"the probe's line never came before the run ended: {seen}"
        rest = proc.stdout.read()
        assert proc.wait(timeout=60) == 0
        assert "later" in rest and "Score: 4/4" in rest, rest
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_logs_hold_only_the_latest_grading(tmp_path):
    failing = tmp_path / "probe.py"
    failing.write_text("import sys\nprint('a line the student printed')\n\ndef echo(value):\n    return None\n")
    grade(tmp_path, *PROBE_ARGS, f"--submit=probe={failing}", env=PROBE_ENV)
    logs = tmp_path / "grade" / "logs" / "probe"
    assert logs.is_dir() and list(logs.iterdir()), "a failing check keeps its output"
    run = grade(tmp_path, *PROBE_ARGS, env=PROBE_ENV)
    assert run.status("probe") == "pass"
    assert not logs.exists() or not list(logs.iterdir()), f"stale logs left: {list(logs.iterdir())}"


def test_partition_balances_runs_and_keeps_catalogue_order():
    from graders.harness import catalogue
    exercises = catalogue.load()
    groups = grading.partition(exercises, [], 2)
    assert len(groups) == 2
    ids = [ex.id for group, _ in groups for ex in group]
    assert sorted(ids) == sorted(ex.id for ex in exercises), "every exercise in exactly one run"
    order = [ex.id for ex in exercises]
    for group, _ in groups:
        assert [ex.id for ex in group] == [i for i in order if i in {ex.id for ex in group}]
    weights = [sum(grading._weight(ex) for ex in group) for group, _ in groups]
    assert max(weights) - min(weights) <= max(grading._weight(ex) for ex in exercises), weights
    files = [f"{exercises[0].id}=/x/{n}.py" for n in range(5)]
    sweep = grading.partition(exercises[:1], files, 2)
    assert sorted(s for _, subs in sweep for s in subs) == sorted(files) and len(sweep) == 2
    assert grading.partition(exercises, [], 1)[0][0] == exercises


def test_a_sweep_split_over_several_runs_keeps_each_files_verdicts_apart(tmp_path, monkeypatch):
    """Two files of one exercise, graded in two pytest runs at once (one file each): each record names
    its file, so neither file receives the other's verdicts."""
    from graders.harness import catalogue
    monkeypatch.setenv("PROCLAB_JOBS", "2")
    reaper = catalogue.by_id()["reaper"]
    stub, solution = tmp_path / "stub.py", tmp_path / "solution.py"
    stub.write_text(open(os.path.join(REPO, reaper.relpath)).read())
    solution.write_text(open(os.path.join(REPO, "solutions", reaper.topic, reaper.file)).read())
    found = grading.sweep([f"reaper={stub}", f"reaper={solution}"], str(tmp_path / "out"))
    assert {os.path.basename(p): r["status"] for p, r in found.items()} == {"stub.py": "todo", "solution.py": "pass"}
