"""The student's loop around grading: hints, list, reset, watch, the Chinese command line, documents."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from conftest import EXERCISES, REPO

from graders.harness import catalogue, checks, cleanup, i18n

REAPER = catalogue.by_id(EXERCISES)["reaper"]


def cli(tmp_path, *args, lang="en", extra_env=None, python=(sys.executable,)):
    env = {k: v for k, v in os.environ.items() if k not in ("LANG", "LC_ALL", "LC_MESSAGES", "PROCLAB_LANG")}
    env.update({"PROCLAB_GRADE_DIR": str(tmp_path / "grade"), "PROCLAB_LANG": lang, **(extra_env or {})})
    return subprocess.run([*python, "-m", "graders.harness", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=60, env=env)


def given(tmp_path) -> dict:
    with open(tmp_path / "grade" / "hints.json") as f:
        return json.load(f)


def test_hints_come_one_at_a_time_then_say_the_last_was_the_last(tmp_path):
    total = len(REAPER.hints)
    for n in range(1, total + 1):
        out = cli(tmp_path, "hint", "reaper").stdout
        assert f"hint {n} of {total}" in out and REAPER.hints[n - 1] in out, out
        assert ("That was the last hint" in out) == (n == total), out
    again = cli(tmp_path, "hint", "reaper").stdout
    assert f"You have seen all {total} hints" in again and REAPER.hints[-1] not in again, again


def test_an_earlier_hint_can_be_read_again_and_all_given_ones_listed(tmp_path):
    cli(tmp_path, "hint", "reaper")
    cli(tmp_path, "hint", "reaper")
    first = cli(tmp_path, "hint", "reaper", "1")
    assert first.returncode == 0 and REAPER.hints[0] in first.stdout, first.stdout + first.stderr
    assert given(tmp_path)["reaper"] == 2, "reading hint 1 again must not move the next hint back"
    everything = cli(tmp_path, "hint", "reaper", "--all").stdout
    assert REAPER.hints[0] in everything and REAPER.hints[1] in everything
    assert REAPER.hints[2] not in everything, "--all shows the hints given so far, not the ones to come"
    bad = cli(tmp_path, "hint", "reaper", str(len(REAPER.hints) + 1))
    assert bad.returncode != 0 and f"1 to {len(REAPER.hints)}" in bad.stderr


def test_hint_without_an_id_takes_the_next_unfinished_exercise_and_a_topic_its_first(tmp_path):
    (tmp_path / "grade").mkdir()
    first, second = EXERCISES[0], EXERCISES[1]
    with open(tmp_path / "grade" / "progress.json", "w") as f:
        json.dump({first.id: {"status": "pass", "score": first.points}}, f)
    out = cli(tmp_path, "hint").stdout
    assert out.startswith(f"{second.id}: hint 1 of"), out
    topic = cli(tmp_path, "hint", second.topic[3:]).stdout
    assert topic.startswith(f"{second.id}: hint 2 of"), topic
    assert cli(tmp_path, "hint", "no_such_thing").returncode != 0


def test_hints_and_the_command_line_speak_chinese_when_asked(tmp_path):
    out = cli(tmp_path, "hint", "reaper", lang="zh").stdout
    assert REAPER.hints_zh[0] in out and "提示 1/" in out, out
    listing = cli(tmp_path, "list", extra_env={"LANG": "zh_CN.UTF-8", "PROCLAB_LANG": ""}).stdout
    assert "练习" in listing and "下一步" in listing and REAPER.title_zh in listing, listing
    english = cli(tmp_path, "list", extra_env={"LANG": "en_US.UTF-8", "PROCLAB_LANG": ""}).stdout
    assert "Next:" in english and "下一步" not in english


def test_every_sentence_of_the_command_line_has_both_languages():
    for key, pair in i18n.TEXT.items():
        english, chinese = pair
        assert english.strip() and checks.CJK.search(chinese), f"{key} lacks its Chinese sentence"
        fields = lambda s: sorted(part.split("}")[0].split(":")[0] for part in s.split("{")[1:])  # noqa: E731
        assert fields(english) == fields(chinese), f"{key}: both languages must fill the same fields"


def test_list_hint_and_reset_need_only_the_standard_library(tmp_path):
    """nox runs them without a virtual environment: -S leaves site-packages (psutil, pytest) out."""
    for args in (("list",), ("hint", "reaper"), ("reset",)):
        proc = cli(tmp_path, *args, python=(sys.executable, "-S"))
        assert "ModuleNotFoundError" not in proc.stderr, (args, proc.stderr)
    assert cli(tmp_path, "list", python=(sys.executable, "-S")).returncode == 0


@pytest.fixture
def clone(tmp_path):
    """A student's checkout: a clone of this repository (its history holds the stubs) with today's harness."""
    dest = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", REPO, str(dest)], check=True, timeout=120)
    shutil.copytree(os.path.join(REPO, "graders", "harness"), dest / "graders" / "harness", dirs_exist_ok=True)
    shutil.copyfile(os.path.join(REPO, "graders", "catalogue.toml"), dest / "graders" / "catalogue.toml")
    return dest


def test_reset_puts_the_stub_back_and_keeps_the_students_file(clone):
    path = clone / REAPER.relpath
    stub = path.read_bytes()
    path.write_text("# my attempt\n")
    env = {k: v for k, v in os.environ.items() if k not in ("PROCLAB_GRADE_DIR", "PROCLAB_LANG")}
    proc = subprocess.run([sys.executable, "-m", "graders.harness", "reset", "reaper"], cwd=clone,
                          capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    assert path.read_bytes() == stub, "the stub is back, byte for byte"
    backups = list((clone / ".grade" / "backup").iterdir())
    assert [b.read_text() for b in backups] == ["# my attempt\n"]
    assert os.path.relpath(backups[0], clone) in proc.stdout, "the student is told where the file went"
    again = subprocess.run([sys.executable, "-m", "graders.harness", "reset", "reaper"], cwd=clone,
                           capture_output=True, text=True, timeout=60, env=env)
    assert "already the original stub" in again.stdout and len(list((clone / ".grade" / "backup").iterdir())) == 1


def _processes_mentioning(marker: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


_PENDING: dict[int, bytes] = {}


def _read_until(stream, needle: str, deadline: float, seen: list[str]) -> bool:
    """Read STREAM's lines into SEEN until one holds NEEDLE. Reads the raw fd (select() cannot see
    lines already in a file object's buffer)."""
    import select
    fd = stream.fileno()
    while True:
        while b"\n" in _PENDING.get(fd, b""):
            line, _PENDING[fd] = _PENDING[fd].split(b"\n", 1)
            seen.append(line.decode(errors="replace") + "\n")
            if needle in seen[-1]:
                return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        if select.select([fd], [], [], min(left, 0.2))[0]:
            chunk = os.read(fd, 65536)
            if not chunk:
                return False
            _PENDING[fd] = _PENDING.get(fd, b"") + chunk


@pytest.fixture
def watcher(tmp_path):
    """`watch` on a copy of exercises/, started under a stand-in for nox (a parent that can be killed)."""
    target = tmp_path / "tree"
    shutil.copytree(os.path.join(REPO, "exercises"), target)
    env = {**os.environ, "PROCLAB_GRADE_DIR": str(tmp_path / "grade"), "PROCLAB_LANG": "en",
           "PYTHONUNBUFFERED": "1"}
    stand_in = ("import subprocess, sys; subprocess.run([sys.executable, '-m', 'graders.harness', 'watch', "
                f"'--target', {str(target)!r}])")
    parent = subprocess.Popen([sys.executable, "-c", stand_in], cwd=REPO, env=env, stdout=subprocess.PIPE,
                              start_new_session=True)
    parent.target = target
    _PENDING.pop(parent.stdout.fileno(), None)
    yield parent
    for pid in _processes_mentioning(str(target)):
        cleanup._signal(pid, signal.SIGKILL)
    if parent.poll() is None:
        parent.kill()
    parent.wait()


def _gone(marker: str, seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = _processes_mentioning(marker)
        if not left:
            return []
        time.sleep(0.05)
    return _processes_mentioning(marker)


def test_watch_regrades_a_saved_solution_and_ends_with_its_parent(watcher):
    seen = []
    assert _read_until(watcher.stdout, "Watching", time.monotonic() + 30, seen), seen
    shutil.copyfile(os.path.join(REPO, "solutions", REAPER.topic, REAPER.file), watcher.target / REAPER.topic /
                    REAPER.file)
    assert _read_until(watcher.stdout, "Watching", time.monotonic() + 60, seen), "".join(seen)
    text = "".join(seen)
    assert "saved: grading reaper" in text and "reaper" in text and "pass" in text and "10/10" in text, text
    assert "Next in the course" in text, text
    os.kill(watcher.pid, signal.SIGKILL)  # nox dies: the watcher must not live on under PID 1
    assert not _gone(str(watcher.target), 10), "the watcher outlived the nox process that started it"


def test_sigterm_during_a_grading_stops_the_watcher_and_everything_it_started(watcher, tmp_path):
    seen = []
    assert _read_until(watcher.stdout, "Watching", time.monotonic() + 30, seen), seen
    marker = "proclab-watch-hang-marker"
    (watcher.target / REAPER.topic / REAPER.file).write_text(
        f"import time\n# {marker}\n\ndef install_reaper():\n    time.sleep(3600)\n")
    assert _read_until(watcher.stdout, "saved: grading reaper", time.monotonic() + 30, seen), seen
    def running(word: str) -> list:
        found = []
        for proc in cleanup.living_descendants():
            try:
                if word in " ".join(proc.cmdline()) and proc.status() != "zombie":
                    found.append(proc)
            except Exception:  # it ended while we looked
                pass
        return found

    deadline = time.monotonic() + 30
    while not running("pytest"):
        assert time.monotonic() < deadline, "the grading never started"
        time.sleep(0.05)
    watchers = running("watch")
    assert watchers
    os.kill(watchers[0].pid, signal.SIGTERM)
    left = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = [p for p in running("") if p.pid != watcher.pid]
        if not left:
            break
        time.sleep(0.05)
    assert not left, f"still running after SIGTERM to watch: {[p.pid for p in left]}"


def test_documents_checks_catch_a_planned_id_an_outside_citation_and_a_missing_twin(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(REPO, repo, ignore=shutil.ignore_patterns(".git", ".nox", ".grade", "__pycache__", "mutants",
                                                            "alternates", "solutions", "tests"))
    assert checks.document_problems(EXERCISES, str(repo)) == []
    planned = sorted(checks.PLANNED_IDS - {ex.id for ex in EXERCISES})[0]  # an exercise the course has not yet
    (repo / "README.md").write_text((repo / "README.md").read_text() + f"\nSoon: `{planned}`.\n")
    (repo / "graders" / "note.py").write_text('"""As DESIG' + 'N \u00a75 says."""\n')
    problems = checks.document_problems(EXERCISES, str(repo))
    assert any(f"README.md names exercise '{planned}'" in p for p in problems), problems
    assert any(p.startswith("graders/note.py:1 cites") for p in problems), problems
    (repo / "exercises" / REAPER.topic / "README.zh-CN.md").unlink()
    assert any("README.zh-CN.md is missing" in p for p in checks.catalogue_problems(EXERCISES, str(repo)))
