"""One grading run: pytest in a child process (so even a crash of it leaves a report), then reports."""

import json
import os
import select
import signal
import subprocess
import sys
import time

from graders.harness import catalogue, cleanup, identity, report, sanitize, scoring
from graders.harness.outcome import PASS

STARTUP_ALLOWANCE = 30.0
PER_EXERCISE_ALLOWANCE = 60.0


class Results:
    """The records pytest sends on its pipe: what it collected, one verdict per test, then 'done'."""

    def __init__(self, fd: int):
        self.fd = fd
        self.buffer = bytearray()
        self.collected: list[dict] | None = None
        self.isolation = identity.SAME
        self.verdicts: list[dict] = []
        self.done = False
        self.eof = False
        self.malformed = 0

    def pump(self, timeout: float) -> None:
        if self.eof:
            time.sleep(min(timeout, 0.05))
            return
        if not select.select([self.fd], [], [], timeout)[0]:
            return
        data = os.read(self.fd, 1 << 20)
        if not data:
            self.eof = True
            return
        self.buffer += data
        *lines, rest = bytes(self.buffer).split(b"\n")
        self.buffer = bytearray(rest)
        for line in lines:
            self._note(line)

    def _note(self, line: bytes) -> None:
        try:
            record = json.loads(line)
            kind = record["kind"]
        except (ValueError, TypeError, KeyError):
            self.malformed += 1
            return
        if kind == "collected" and self.collected is None:
            self.collected = list(record.get("tests", []))
            self.isolation = record.get("isolation", identity.SAME)
        elif kind == "verdict":
            self.verdicts.append(record)
        elif kind == "done":
            self.done = True
        else:
            self.malformed += 1


def run_pytest(exercises, target: str, submit: list[str], outdir: str, verbose: bool,
               hide: list[str]) -> tuple[Results, str | None]:
    logs = os.path.join(outdir, "logs")
    read_fd, write_fd = os.pipe()
    # --tb=native: pytest's own rich tracebacks cost ~60 ms a failing test (pytest.log keeps these)
    command = [sys.executable, "-m", "pytest", "-q", "-rN", "--no-header", "--noconftest", "--tb=native",
               "-p", "pytest_timeout", "-p", "graders.harness.plugin",
               # each of these two runs a gc.collect() per test
               "-p", "no:unraisableexception", "-p", "no:threadexception", "--rootdir", catalogue.REPO,
               "-c", os.path.join(catalogue.REPO, "pyproject.toml"),
               "--target", target, "--results-fd", str(write_fd), "--logs", logs,
               *[f"--submit={s}" for s in submit], *[f"--hide={h}" for h in hide],
               *[ex.grader for ex in exercises]]
    # Only our plugins: a student's globally installed pytest plugins neither slow nor change grading.
    env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # let pytest cache the rewritten graders
    graded = max(len(exercises), len(submit))  # a sweep grades many files of one exercise in this run
    deadline = time.monotonic() + STARTUP_ALLOWANCE + PER_EXERCISE_ALLOWANCE * graded
    results = Results(read_fd)
    shown = 0
    crashed = None
    try:
        with open(os.path.join(outdir, "pytest.log"), "wb") as log:
            proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    cwd=catalogue.REPO, env=env, start_new_session=True, pass_fds=(write_fd,))
        os.close(write_fd)
        try:
            while not results.eof or proc.poll() is None:
                if time.monotonic() > deadline:
                    crashed = "the grading run went over its overall time limit and was stopped"
                    break
                results.pump(0.05)
                if verbose:
                    shown = _show_progress(results.verdicts, shown)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            cleanup.reclaim_run(proc.pid)  # however pytest ended, nothing of its run outlives it
    finally:
        os.close(read_fd)
    if verbose:
        _show_progress(results.verdicts, shown)
    if crashed is None and (proc.returncode not in (0, 1) or not results.done):
        how = (f"killed by signal {-proc.returncode}" if proc.returncode < 0
               else f"exit code {proc.returncode}")
        crashed = (f"the grading process stopped unexpectedly ({how}); "
                   f"see {os.path.relpath(os.path.join(outdir, 'pytest.log'))}")
    if crashed is None and results.malformed:
        crashed = f"{results.malformed} malformed result record(s) arrived from the grading process"
    return results, crashed


def _show_progress(records: list[dict], shown: int) -> int:
    for record in records[shown:]:
        verdict = "OK" if record["status"] == PASS else record["status"].upper()
        print(f"{record['id']}: {record['test']}: {verdict} ({record.get('duration', 0):.1f}s)", flush=True)
        if record["status"] != PASS:
            print(f"    {sanitize.text(record.get('message', ''))}", flush=True)
    return len(records)


def grade(names: list[str], target: str, submit: list[str], outdir: str, verbose: bool = False,
          quiet: bool = False, hide: list[str] | None = None) -> int:
    if not sys.platform.startswith("linux"):
        sys.exit("proclab grades Linux system calls (fork, /proc, signals), so it runs only on Linux.\n"
                 "On macOS or Windows, open this repository in WSL2, in the dev container "
                 "(.devcontainer/), or in a GitHub Codespace, and run `nox -s grade` there.")
    exercises = catalogue.select(names)
    identity.protect_self()
    os.makedirs(outdir, exist_ok=True)
    # Fail closed: until the run ends properly, the report on disk says every exercise is an error.
    report.write_json(scoring.build(exercises, [], None, identity.SAME, "the grading run did not finish"),
                      os.path.join(outdir, "report.json"))
    results, crashed = Results(-1), None
    try:
        results, crashed = run_pytest(exercises, os.path.abspath(target), submit, outdir, verbose, hide or [])
    except BaseException as exc:  # the report is written on every run, also when grading crashed
        crashed = f"grading crashed: {type(exc).__name__}: {exc}"
        raise
    finally:
        doc = scoring.build(exercises, results.verdicts, results.collected, results.isolation, crashed)
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


def sweep(submissions: list[str], outdir: str) -> dict[str, dict]:
    """Grade many files in one pytest run (verify's mutant and alternate sweeps): `ID=PATH` each, several
    per exercise allowed. Returns {path: {"id", "status", "flags", "messages"}}, failing closed: a file
    whose collected checks did not all report exactly once is `error`."""
    ids = list(dict.fromkeys(entry.partition("=")[0] for entry in submissions))
    exercises = [ex for ex in catalogue.load() if ex.id in ids]
    os.makedirs(outdir, exist_ok=True)
    results, crashed = run_pytest(exercises, os.path.join(catalogue.REPO, "exercises"), submissions, outdir,
                                  False, [])
    by_id = {ex.id: ex for ex in exercises}
    found = {}
    for entry in submissions:
        ident, _, path = entry.partition("=")
        path = os.path.abspath(path)

        def mine(record, ident=ident, path=path):
            return record.get("id") == ident and record.get("variant", path) == path
        collected = [t for t in (results.collected or []) if mine(t)]
        verdicts = [r for r in results.verdicts if mine(r)]
        doc = scoring.build([by_id[ident]], verdicts, collected, results.isolation, crashed)
        entry_doc = doc["exercises"][0]
        found[path] = {"id": ident, "status": entry_doc["status"], "flags": entry_doc["flags"],
                       "messages": [t.get("message", "") for t in entry_doc["tests"] if t["status"] != PASS]}
    return found
