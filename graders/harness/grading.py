"""One grading run: pytest in a child process (so even a crash of it leaves a report), then reports."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from graders.harness import catalogue, report, scoring
from graders.harness.outcome import PASS

STARTUP_ALLOWANCE = 30.0
PER_EXERCISE_ALLOWANCE = 60.0


def _read_records(path: str) -> list[dict]:
    try:
        with open(path) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def run_pytest(exercises, target: str, submit: list[str], outdir: str, verbose: bool) -> tuple[list[dict], str | None]:
    fd, results = tempfile.mkstemp(prefix="results-", suffix=".jsonl", dir=outdir)  # private: runs may overlap
    os.close(fd)
    logs = os.path.join(outdir, "logs")
    command = [sys.executable, "-m", "pytest", "-q", "-rN", "--no-header",
               "-p", "pytest_timeout", "-p", "graders.harness.plugin", "--rootdir", catalogue.REPO,
               "-c", os.path.join(catalogue.REPO, "pyproject.toml"),
               "--target", target, "--results", results, "--logs", logs,
               *[f"--submit={s}" for s in submit],
               *[ex.grader for ex in exercises]]
    # Only our plugins: a student's globally installed pytest plugins neither slow nor change grading.
    env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # let pytest cache the rewritten graders
    deadline = time.monotonic() + STARTUP_ALLOWANCE + PER_EXERCISE_ALLOWANCE * len(exercises)
    shown = 0
    crashed = None
    with open(os.path.join(outdir, "pytest.log"), "wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                cwd=catalogue.REPO, env=env, start_new_session=True)
        try:
            while proc.poll() is None:
                if time.monotonic() > deadline:
                    crashed = "the grading run went over its overall time limit and was stopped"
                    break
                time.sleep(0.05)
                if verbose:
                    shown = _show_progress(_read_records(results), shown)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    records = _read_records(results)
    os.unlink(results)
    if verbose:
        _show_progress(records, shown)
    if crashed is None and proc.returncode not in (0, 1):
        crashed = (f"the grading run stopped unexpectedly (pytest exit code {proc.returncode}); "
                   f"see {os.path.relpath(os.path.join(outdir, 'pytest.log'))}")
    return records, crashed


def _show_progress(records: list[dict], shown: int) -> int:
    for record in records[shown:]:
        verdict = "OK" if record["status"] == PASS else record["status"].upper()
        print(f"{record['id']}: {record['test']}: {verdict} ({record.get('duration', 0):.1f}s)", flush=True)
        if record["status"] != PASS:
            print(f"    {record['message']}", flush=True)
    return len(records)


def grade(names: list[str], target: str, submit: list[str], outdir: str, verbose: bool = False,
          quiet: bool = False) -> int:
    if not sys.platform.startswith("linux"):
        sys.exit("proclab grades Linux system calls (fork, /proc, signals), so it runs only on Linux.\n"
                 "On macOS or Windows, open this repository in WSL2, in the dev container "
                 "(.devcontainer/), or in a GitHub Codespace, and run `nox -s grade` there.")
    exercises = catalogue.select(names)
    os.makedirs(outdir, exist_ok=True)
    records, crashed = [], None
    try:
        records, crashed = run_pytest(exercises, os.path.abspath(target), submit, outdir, verbose)
    except BaseException as exc:  # the report is written on every run, also when grading crashed
        crashed = f"grading crashed: {type(exc).__name__}: {exc}"
        raise
    finally:
        doc = scoring.build(exercises, records, crashed)
        report.write_all(doc, outdir)
        _remember_progress(doc, outdir)
        if not quiet:
            print(report.table(doc, colour=sys.stdout.isatty()))
            print(report.next_step(doc))
    return 0 if all(e["status"] == PASS for e in doc["exercises"]) else 1


def _remember_progress(doc: dict, outdir: str) -> None:
    """Last status of every exercise ever graded here, for `nox -s list`."""
    path = os.path.join(outdir, "progress.json")
    try:
        with open(path) as f:
            progress = json.load(f)
    except (OSError, ValueError):
        progress = {}
    for entry in doc["exercises"]:
        progress[entry["id"]] = {"status": entry["status"], "score": entry["score"]}
    with open(path, "w") as f:
        json.dump(progress, f, indent=2)
