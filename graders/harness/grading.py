"""One grading run: pytest in a child process (so even a crash of it leaves a report), then reports."""

import json
import os
import select
import shutil
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


def default_jobs() -> int:
    """pytest runs at once: one per CPU this process may use (checks mostly wait on the OS, not the CPU)."""
    env = os.environ.get("PROCLAB_JOBS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, len(os.sched_getaffinity(0)))


def _weight(ex) -> int:
    """Roughly how long an exercise takes to grade: its number of checks."""
    try:
        with open(ex.grader, encoding="utf-8") as f:
            return max(1, f.read().count("\ndef test_"))
    except OSError:
        return 1


def partition(exercises, submit: list[str], jobs: int) -> list[tuple[list, list[str]]]:
    """Split one grading into at most JOBS pytest runs: (exercises, submissions) each, balanced by their
    number of checks, each run in catalogue order so that the first lines are ready first. An exercise
    given many files (a sweep) has them dealt out over the runs."""
    units = []  # (catalogue position, exercise, its files, weight)
    for n, ex in enumerate(exercises):
        mine = [s for s in submit if s.partition("=")[0] == ex.id]
        chunks = max(1, min(jobs, len(mine)))
        for k in range(chunks):
            files = mine[k::chunks]
            units.append((n, ex, files, _weight(ex) * max(1, len(files))))
    loads = [[0, []] for _ in range(min(jobs, len(units)))]
    for unit in sorted(units, key=lambda u: -u[3]):  # longest first, each to the least loaded run
        lightest = min(loads, key=lambda load: load[0])
        lightest[0] += unit[3]
        lightest[1].append(unit)
    groups = []
    for _, mine in loads:
        mine.sort(key=lambda u: u[0])
        ids = list(dict.fromkeys(ex.id for _, ex, _, _ in mine))
        groups.append(([ex for ex in exercises if ex.id in ids], [s for _, _, files, _ in mine for s in files]))
    return groups


class Run:
    """One pytest process of a grading and the records arriving on its pipe."""

    def __init__(self, exercises, target: str, submit: list[str], outdir: str, hide: list[str], log: str):
        read_fd, write_fd = os.pipe()
        self.log = log
        # --tb=native: pytest's own rich tracebacks cost ~60 ms a failing test (the log keeps these)
        command = [sys.executable, "-m", "pytest", "-q", "-rN", "--no-header", "--noconftest", "--tb=native",
                   "-p", "pytest_timeout", "-p", "graders.harness.plugin",
                   # each of these two runs a gc.collect() per test
                   "-p", "no:unraisableexception", "-p", "no:threadexception", "--rootdir", catalogue.REPO,
                   "-c", os.path.join(catalogue.REPO, "pyproject.toml"),
                   "--target", target, "--results-fd", str(write_fd), "--logs", os.path.join(outdir, "logs"),
                   *[f"--submit={s}" for s in submit], *[f"--hide={h}" for h in hide],
                   *[ex.grader for ex in exercises]]
        # Only our plugins: a student's globally installed pytest plugins neither slow nor change grading.
        env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # let pytest cache the rewritten graders
        graded = max(len(exercises), len(submit))  # a sweep grades many files of one exercise in this run
        self.deadline = time.monotonic() + STARTUP_ALLOWANCE + PER_EXERCISE_ALLOWANCE * graded
        self.results = Results(read_fd)
        self.crashed: str | None = None
        self.stopped = False
        try:
            with open(log, "wb") as out:
                self.proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, cwd=catalogue.REPO, env=env,
                                             start_new_session=True, pass_fds=(write_fd,))
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)

    @property
    def running(self) -> bool:
        return not self.stopped and (not self.results.eof or self.proc.poll() is None)

    def stop(self) -> None:
        """However pytest ended, nothing of its run outlives it; then say how it ended if not properly."""
        if self.stopped:
            return
        self.stopped = True
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        cleanup.reclaim_run(self.proc.pid)
        os.close(self.results.fd)
        code = self.proc.returncode
        if self.crashed is None and (code not in (0, 1) or not self.results.done):
            how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
            self.crashed = f"the grading process stopped unexpectedly ({how}); see {os.path.relpath(self.log)}"
        if self.crashed is None and self.results.malformed:
            self.crashed = f"{self.results.malformed} malformed result record(s) arrived from the grading process"


def run_pytest(exercises, target: str, submit: list[str], outdir: str, hide: list[str],
               jobs: int | None = None, on_record=None) -> tuple[Results, str | None]:
    """Grade in up to JOBS pytest processes at once; merge what they report. ON_RECORD(results) is
    called whenever records have arrived (live progress)."""
    groups = partition(exercises, submit, jobs or default_jobs())
    runs: list[Run] = []
    try:
        for n, (group, subs) in enumerate(groups, 1):
            log = os.path.join(outdir, "pytest.log" if len(groups) == 1 else f"pytest-{n}.log")
            runs.append(Run(group, target, subs, outdir, hide, log))
        while any(run.running for run in runs):
            live = [run for run in runs if run.running]
            for run in live:
                if time.monotonic() > run.deadline:
                    run.crashed = "the grading run went over its overall time limit and was stopped"
                    run.stop()
            readable = [run.results.fd for run in live if not run.results.eof and not run.stopped]
            ready = select.select(readable, [], [], 0.05)[0] if readable else time.sleep(0.02) or []
            for run in live:
                if run.results.fd in ready:
                    run.results.pump(0)
            if on_record:
                on_record(merge(runs))
    finally:
        for run in runs:
            run.stop()
    merged = merge(runs)
    crashed = next((run.crashed for run in runs if run.crashed), None)
    if crashed is None and len({run.results.isolation for run in runs}) > 1:
        crashed = "the grading processes disagreed on their isolation mode"
    return merged, crashed


def merge(runs: list[Run]) -> Results:
    merged = Results(-1)
    # a run that never said what it collected leaves its exercises ungraded (error), not the others
    collected = [run.results.collected for run in runs if run.results.collected is not None]
    merged.collected = [t for c in collected for t in c] if collected else None
    merged.isolation = min((run.results.isolation for run in runs), default=identity.SAME,
                           key=lambda mode: mode != identity.SAME)  # the weaker mode is the one to report
    merged.verdicts = [v for run in runs for v in run.results.verdicts]
    merged.done = all(run.results.done for run in runs)
    merged.malformed = sum(run.results.malformed for run in runs)
    return merged


class Progress:
    """Live progress on the terminal: each exercise's line as soon as all its checks have reported, in
    catalogue order (with -v, each check's line instead); then the rest of the table and the score."""

    def __init__(self, exercises, verbose: bool):
        self.exercises = exercises
        self.verbose = verbose
        self.colour = sys.stdout.isatty()
        self.shown: dict[str, tuple] = {}  # id -> (status, score) as printed
        self.records = 0
        if not verbose:
            print(report.header(), flush=True)

    def update(self, results: Results) -> None:
        if self.verbose:
            for record in results.verdicts[self.records:]:
                verdict = "OK" if record.get("status") == PASS else str(record.get("status")).upper()
                print(sanitize.text(f"{record.get('id')}: {record.get('test')}: {verdict} "
                                    f"({record.get('duration', 0):.1f}s)", 300), flush=True)
                if record.get("status") != PASS:
                    print(f"    {sanitize.text(record.get('message', ''))}", flush=True)
            self.records = len(results.verdicts)
            return
        for ex in self.exercises:
            if ex.id in self.shown:
                continue
            expected = sum(t.get("id") == ex.id for t in results.collected or [])
            arrived = sum(r.get("id") == ex.id for r in results.verdicts)
            if not expected or arrived < expected:
                return  # in catalogue order: a later exercise waits for this one
            entry = scoring.build([ex], results.verdicts, results.collected, results.isolation)["exercises"][0]
            self._show(entry)

    def _show(self, entry: dict) -> None:
        self.shown[entry["id"]] = (entry["status"], entry["score"])
        print("\n".join(report.entry_lines(entry, self.colour)), flush=True)

    def finish(self, doc: dict, upcoming=None) -> None:
        """The final word: lines not shown yet, and again any line the end of the run changed."""
        if self.verbose:
            print(report.table(doc, colour=self.colour))
        else:
            for entry in doc["exercises"]:
                if self.shown.get(entry["id"]) != (entry["status"], entry["score"]):
                    self._show(entry)
            print("\n".join(report.footer_lines(doc)))
        print(report.next_step(doc, upcoming))


def grade(names: list[str], target: str, submit: list[str], outdir: str, verbose: bool = False,
          quiet: bool = False, hide: list[str] | None = None, jobs: int | None = None) -> int:
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
    for ex in exercises:  # the logs of these exercises' failing checks are this run's only
        shutil.rmtree(os.path.join(outdir, "logs", ex.id), ignore_errors=True)
    for name in os.listdir(outdir):
        if name.startswith("pytest") and name.endswith(".log"):
            os.remove(os.path.join(outdir, name))
    progress = None if quiet else Progress(exercises, verbose)
    results, crashed = Results(-1), None
    try:
        results, crashed = run_pytest(exercises, os.path.abspath(target), submit, outdir, hide or [], jobs,
                                      on_record=progress and progress.update)
    except KeyboardInterrupt:
        crashed = "grading was interrupted (Ctrl-C or SIGTERM) before it finished"
        raise
    except BaseException as exc:  # the report is written on every run, also when grading crashed
        crashed = f"grading crashed: {type(exc).__name__}: {exc}"
        raise
    finally:
        doc = scoring.build(exercises, results.verdicts, results.collected, results.isolation, crashed)
        report.write_all(doc, outdir)
        progress_of = _remember_progress(doc, outdir)
        if progress:
            upcoming = next((ex for ex in catalogue.load()
                             if progress_of.get(ex.id, {}).get("status") != PASS), None)
            progress.finish(doc, upcoming)
    return 0 if all(e["status"] == PASS for e in doc["exercises"]) else 1


def _remember_progress(doc: dict, outdir: str) -> dict:
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
    return progress


def sweep(submissions: list[str], outdir: str) -> dict[str, dict]:
    """Grade many files in one pytest run (verify's mutant and alternate sweeps): `ID=PATH` each, several
    per exercise allowed. Returns {path: {"id", "status", "flags", "messages"}}, failing closed: a file
    whose collected checks did not all report exactly once is `error`."""
    ids = list(dict.fromkeys(entry.partition("=")[0] for entry in submissions))
    exercises = [ex for ex in catalogue.load() if ex.id in ids]
    os.makedirs(outdir, exist_ok=True)
    results, crashed = run_pytest(exercises, os.path.join(catalogue.REPO, "exercises"), submissions, outdir, [])
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
