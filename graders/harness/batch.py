"""Many gradings: `gradebook` (a folder of submissions into a CSV) and `watch` (re-grade on save)."""

import contextlib
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

import psutil

from graders.harness import catalogue
from graders.harness.submission import private_copy

# The wall-clock bound of one submission's grading: BOUND_BASE + BOUND_PER_TIMEOUT x the catalogue's timeouts summed.
BOUND_BASE = 30.0
BOUND_PER_TIMEOUT = 3.0
GRADE_COMMAND = [sys.executable, "-m", "graders.harness", "grade", "--quiet", "--jobs", "1"]  # the book runs many at once
NOT_GRADED = "not graded: the gradebook was interrupted"
SAME_USER_WARNING = ("warning: not running as root, so graded code runs as your own user (same-user mode) and could "
                     "reach other submissions and your files: run the gradebook as root (e.g. with sudo) so each "
                     "submission runs as a separate user")


def _say(line: str) -> None:
    """Progress on stderr; a closed stderr (a broken pipe) must not stop the gradebook."""
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


def _columns(exercises) -> list[str]:
    return ["submission", *[ex.id for ex in exercises], "score", "max_score", "statuses", "flags", "isolation",
            "error"]


def _error_row(name: str, exercises, reason: str) -> dict:
    return {"submission": name, **{ex.id: 0 for ex in exercises}, "score": 0,
            "max_score": sum(ex.points for ex in exercises),
            "statuses": " ".join(f"{ex.id}=error" for ex in exercises), "flags": "", "isolation": "",
            "error": reason}


def _write_csv(dest: str, exercises, rows: dict) -> None:
    """Atomically: a gradebook killed at any moment leaves a whole CSV."""
    fd, tmp = tempfile.mkstemp(prefix=".gradebook-", suffix=".csv", dir=os.path.dirname(dest))
    try:
        with os.fdopen(fd, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=_columns(exercises))
            writer.writeheader()
            for name in sorted(rows):
                writer.writerow(rows[name])
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _read_report(out: str) -> tuple[dict | None, str]:
    """The report.json of a grading run, or None and why not."""
    try:
        with open(os.path.join(out, "report.json")) as f:
            doc = json.load(f)
    except FileNotFoundError:
        return None, "the grading run wrote no report.json"
    except (OSError, ValueError) as exc:
        return None, f"report.json cannot be read ({exc})"
    entries = doc.get("exercises") if isinstance(doc, dict) else None
    if not isinstance(entries, list) or not all(
            isinstance(e, dict) and isinstance(e.get("id"), str) and isinstance(e.get("status"), str)
            and isinstance(e.get("score"), int | float) for e in entries):
        return None, "report.json is malformed (no list of exercises with id, status and score)"
    return doc, ""


def _row(name: str, exercises, doc: dict, refused: dict[str, str]) -> dict:
    """A submission's CSV row from its report; refused files make their exercise an error with 0 points."""
    entries = {e["id"]: e for e in doc["exercises"]}
    row = {"submission": name}
    statuses, flags = [], []
    for ex in exercises:
        entry = entries.get(ex.id, {"status": "error", "score": 0})
        found = entry.get("flags") or []
        if ex.id in refused:
            entry, found = {"status": "error", "score": 0}, [refused[ex.id]]
        row[ex.id] = entry["score"]
        statuses.append(f"{ex.id}={entry['status']}")
        flags += [f"{ex.id}: {flag}" for flag in (found if isinstance(found, list) else [found])]
    isolation = doc.get("isolation", "")
    row.update(score=round(sum(row[ex.id] for ex in exercises), 2), max_score=sum(ex.points for ex in exercises),
               statuses=" ".join(statuses), flags="; ".join(flags),
               isolation=isolation if isinstance(isolation, str) else json.dumps(isolation),
               error=str(doc.get("crashed", "")))
    return row


def _kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL a grading's process group and every process below it: pytest and graded code run in sessions
    of their own, which the group kill does not reach."""
    try:
        below = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        below = []
    with contextlib.suppress(OSError):
        os.killpg(proc.pid, signal.SIGKILL)
    for child in below:
        with contextlib.suppress(psutil.Error):
            child.kill()
    proc.wait()


class _Gradings:
    """The grading processes running now, so that an interrupted gradebook stops them all."""

    def __init__(self):
        self.lock = threading.Lock()
        self.running = set()
        self.stopped = False

    def start(self, command: list[str], log) -> subprocess.Popen:
        with self.lock:
            if self.stopped:
                raise RuntimeError("the gradebook was interrupted")
            proc = subprocess.Popen(command, cwd=catalogue.REPO, stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
            self.running.add(proc)
            return proc

    def finish(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            _kill_tree(proc)
        with self.lock:
            self.running.discard(proc)

    def stop_all(self) -> None:
        with self.lock:
            self.stopped = True
            running = list(self.running)
        for proc in running:
            _kill_tree(proc)


def _last_line(path: str) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - 2000))
            lines = f.read().decode(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1].strip()[:300] if lines else ""


def _grade_submission(name: str, folder: str, parent: str, exercises, hide: list[str], bound: float,
                      gradings: _Gradings) -> dict:
    """One submission: a private copy of its graded files, graded by a process of its own within BOUND seconds."""
    copy = tempfile.mkdtemp(prefix="copy-", dir=parent)
    out = tempfile.mkdtemp(prefix="out-", dir=parent)
    try:
        os.chmod(copy, 0o755)
        layout = "exercises/" if os.path.isdir(os.path.join(folder, "exercises")) else ""
        relpaths = {f"{layout}{ex.topic}/{ex.file}": ex.id for ex in exercises}
        refused = {relpaths[rel]: sentence for rel, sentence in private_copy(folder, copy, list(relpaths)).items()}
        target = os.path.join(copy, "exercises") if layout else copy
        os.makedirs(target, mode=0o755, exist_ok=True)
        command = [*GRADE_COMMAND, "--target", target, "--out", out, *[f"--hide={path}" for path in hide]]
        log_path = os.path.join(out, "grading.log")
        with open(log_path, "wb") as log:
            proc = gradings.start(command, log)
            try:
                proc.wait(timeout=bound)
            except subprocess.TimeoutExpired:
                return _error_row(name, exercises, f"grading did not finish within {bound:g} s")
            finally:
                gradings.finish(proc)
        doc, reason = _read_report(out)
        if doc is None:
            last = _last_line(log_path)
            return _error_row(name, exercises, f"{reason} (exit code {proc.returncode}{': ' + last if last else ''})")
        return _row(name, exercises, doc, refused)
    finally:
        shutil.rmtree(copy, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)


def _grade(name: str, folder: str, parent: str, exercises, *rest) -> tuple[dict, float]:
    """Whatever goes wrong with one submission is its row's error, never the gradebook's end."""
    started = time.monotonic()
    try:
        row = _grade_submission(name, folder, parent, exercises, *rest)
    except Exception as exc:
        row = _error_row(name, exercises, f"the gradebook failed on this submission: {type(exc).__name__}: {exc}")
    return row, time.monotonic() - started


def _about(seconds: float) -> str:
    return f"{max(1, round(seconds))} s" if seconds < 60 else f"{round(seconds / 60)} min"


def gradebook(root: str, dest: str, jobs: int | None = None) -> int:
    """Grade every submission folder in ROOT into the CSV DEST, which lists every submission at every moment."""
    started = time.monotonic()
    root, dest = os.path.realpath(root), os.path.abspath(dest)
    if not os.path.isdir(root):
        _say(f"{root} is not a folder of submissions")
        return 2
    jobs = max(1, jobs or os.cpu_count() or 1)
    exercises = catalogue.load()
    names = sorted(name for name in os.listdir(root)
                   if not name.startswith(".") and os.path.isdir(os.path.join(root, name)))
    rows = {name: _error_row(name, exercises, NOT_GRADED) for name in names}
    _write_csv(dest, exercises, rows)
    if os.geteuid() != 0:
        _say(SAME_USER_WARNING)
    bound = BOUND_BASE + BOUND_PER_TIMEOUT * sum(ex.timeout for ex in exercises)
    hide = [root, os.path.join(catalogue.REPO, "solutions")]
    parent = tempfile.mkdtemp(prefix=f"proclab-{os.getpid()}-book-")  # 0700; sweep_stale removes it if we die
    gradings = _Gradings()
    durations = []
    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(_grade, name, os.path.join(root, name), parent, exercises, hide, bound, gradings)
                       for name in names]
            try:
                for future in as_completed(futures):
                    row, seconds = future.result()
                    rows[row["submission"]] = row
                    _write_csv(dest, exercises, rows)
                    durations.append(seconds)
                    left = len(names) - len(durations)
                    estimate = sum(durations) / len(durations) * -(-left // jobs)
                    _say(f"[{len(durations)}/{len(names)}] {row['submission']}: {row['score']:g}/{row['max_score']:g}"
                         f"{', ' + row['error'] if row['error'] else ''} ({seconds:.1f} s)"
                         f"{f', about {_about(estimate)} left' if left else ''}")
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                gradings.stop_all()
                raise
    except KeyboardInterrupt:
        _say(f"interrupted: {dest} lists the submissions not graded as errors")
        return 130
    finally:
        shutil.rmtree(parent, ignore_errors=True)
    failed = sum(bool(row["error"]) for row in rows.values())
    _say(f"{len(names)} submissions graded into {dest} in {time.monotonic() - started:.1f} s"
         + (f"; {failed} with an error (see its error column)" if failed else ""))
    return 0


def watch(target: str, interval: float = 0.5) -> int:
    """Re-grade the exercise whose file was saved last; Ctrl-C stops."""
    exercises = catalogue.load()

    def mtimes():
        found = {}
        for ex in exercises:
            try:
                found[ex.id] = os.stat(ex.path_in(target)).st_mtime_ns
            except FileNotFoundError:
                pass
        return found

    seen = mtimes()
    print(f"watching {os.path.relpath(target)}: save an exercise file to grade it (Ctrl-C stops)")
    try:
        while True:
            time.sleep(interval)
            now = mtimes()
            changed = [ident for ident, stamp in now.items() if seen.get(ident) != stamp]
            seen = now
            for ident in changed:
                subprocess.run([sys.executable, "-m", "graders.harness", "grade", ident, "--target", target],
                               cwd=catalogue.REPO, stdin=subprocess.DEVNULL)
    except KeyboardInterrupt:
        return 0
