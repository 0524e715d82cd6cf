"""Many gradings: `gradebook` (a folder of submissions into a CSV, a class page and a report per student)."""

import contextlib
import csv
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

import psutil

from graders.harness import catalogue, classpage, sanitize
from graders.harness.outcome import ERROR
from graders.harness.submission import private_copy

# The wall-clock bound of one submission's grading: BOUND_BASE + BOUND_PER_TIMEOUT x the catalogue's timeouts summed.
BOUND_BASE = 30.0
BOUND_PER_TIMEOUT = 3.0
# --jobs 1: the book runs many gradings at once
GRADE_COMMAND = [sys.executable, "-m", "graders.harness", "grade", "--quiet", "--jobs", "1"]
NOT_GRADED = "not graded: the gradebook was interrupted"
# A spreadsheet takes a cell that starts with one of these for a formula (CSV injection): such a cell gets a `'`.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n")
KEPT_LOG_LIMIT = 1 << 20  # bytes of the end of each log of a failing check kept in the student's folder
KEPT_LOGS = 200  # logs kept per submission at most
REPORTS_MARK = ".proclab-gradebook"  # in a reports folder: the next gradebook may replace it
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


def _cell(value):
    """A CSV cell a spreadsheet shows as text: one that would start a formula gets a leading `'`."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def _write_csv(dest: str, exercises, rows: dict) -> None:
    """Atomically: a gradebook killed at any moment leaves a whole CSV. A folder name that is no UTF-8 is
    written with backslash escapes rather than stopping the gradebook."""
    fd, tmp = tempfile.mkstemp(prefix=".gradebook-", suffix=".csv", dir=os.path.dirname(dest))
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8", errors="backslashreplace") as f:
            writer = csv.DictWriter(f, fieldnames=_columns(exercises))
            writer.writeheader()
            for name in sorted(rows):
                writer.writerow({key: _cell(value) for key, value in rows[name].items()})
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


def _refuse(doc: dict, refused: dict[str, str]) -> dict:
    """The report with the verdict of the gradebook: an exercise whose file was refused is an error with
    0 points, flagged with the refusal."""
    if not refused:
        return doc
    entries = []
    for entry in doc["exercises"]:
        sentence = refused.get(entry["id"])
        if sentence is not None:
            entry = {**{k: entry[k] for k in ("id", "topic", "title", "file", "max_score") if k in entry},
                     "status": ERROR, "score": 0, "flags": [sentence],
                     "tests": [{"name": "graded file", "status": ERROR, "message": sentence, "duration": 0.0}]}
        entries.append(entry)
    ids = {e["id"] for e in entries}
    for ident, sentence in refused.items():
        if ident not in ids:
            entries.append({"id": ident, "status": ERROR, "score": 0, "flags": [sentence],
                            "tests": [{"name": "graded file", "status": ERROR, "message": sentence}]})
    return {**doc, "exercises": entries, "score": round(sum(e["score"] for e in entries), 2)}


def _row(name: str, exercises, doc: dict) -> dict:
    """A submission's CSV row from its report (refusals already in it, see _refuse)."""
    entries = {e["id"]: e for e in doc["exercises"]}
    row = {"submission": name}
    statuses, flags = [], []
    for ex in exercises:
        entry = entries.get(ex.id, {"status": "error", "score": 0})
        found = entry.get("flags") or []
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


class _Kept:
    """What the gradebook writes beside its CSV DEST (book.csv): the class page book.html and, in book-reports/,
    a folder per student with its report.json, report.html and the logs of its failing checks."""

    def __init__(self, dest: str):
        base = dest[:-4] if dest.lower().endswith(".csv") else dest
        self.page, self.reports = base + ".html", base + "-reports"
        self.class_href = classpage.href("..", "..", os.path.basename(self.page))  # from a student's folder

    def folder(self, name: str) -> str:
        return os.path.join(self.reports, name)  # a folder name of the submissions: never . or .., no /

    def problem(self, root: str) -> str:
        """Why the reports folder cannot be (re)made: it would hold the submissions, or it is not a gradebook's."""
        reports = os.path.realpath(self.reports)
        if reports == root or root.startswith(reports + os.sep):
            return f"{self.reports} would be the folder of the submissions: choose another --csv"
        if os.path.lexists(self.reports) and (os.path.islink(self.reports) or not os.path.isfile(
                os.path.join(self.reports, REPORTS_MARK))):
            return (f"{self.reports} exists and is no gradebook's reports folder (it has no {REPORTS_MARK}): "
                    "move it away or choose another --csv")
        return ""

    def start(self) -> None:
        """An empty reports folder: this gradebook's reports only, as the CSV holds this gradebook's rows.
        Private like the CSV (0700; the pages are 0600), and hidden from graded code: a submission must not
        read its classmates' reports."""
        if os.path.lexists(self.reports):
            shutil.rmtree(self.reports)
        os.makedirs(self.reports, mode=0o700)
        os.chmod(self.reports, 0o700)
        with open(os.path.join(self.reports, REPORTS_MARK), "w") as f:
            f.write("written by proclab's gradebook, which replaces this folder whenever it runs again\n")


def _copy_tail(src: str, dest: str) -> bool:
    """Copy the end of the regular file SRC (never through a symbolic link) to DEST; whether it did."""
    try:
        fd = os.open(src, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        size = info.st_size
        if not stat.S_ISREG(info.st_mode):
            return False
        f.seek(max(0, size - KEPT_LOG_LIMIT))
        data = f.read(KEPT_LOG_LIMIT)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with open(dest, "wb") as f:
        if size > KEPT_LOG_LIMIT:
            f.write(f"[... {size - KEPT_LOG_LIMIT} earlier bytes cut ...]\n".encode())
        f.write(data)
    return True


def _keep_logs(out: str, folder: str, doc: dict) -> dict:
    """Copy the logs of failing checks from the grading's OUT to FOLDER/logs/ and point the report at the
    copies, relative to FOLDER (in each `log` and in the message that names it); a log not kept is dropped."""
    kept = {}
    for dirpath, _, filenames in os.walk(os.path.join(out, "logs")):
        for filename in sorted(filenames)[:KEPT_LOGS - len(kept)]:
            src = os.path.join(dirpath, filename)
            rel = os.path.relpath(src, out)
            if _copy_tail(src, os.path.join(folder, rel)):
                kept[os.path.normpath(src)] = rel.replace(os.sep, "/")
    entries = []
    for entry in doc["exercises"]:
        if isinstance(entry.get("tests"), list):
            tests = []
            for test in entry["tests"]:
                if isinstance(test, dict) and "log" in test:
                    test = dict(test)
                    log = test.pop("log")
                    where = os.path.normpath(os.path.join(catalogue.REPO, log)) if isinstance(log, str) else None
                    if where in kept:
                        test["log"] = kept[where]
                        if isinstance(test.get("message"), str):
                            test["message"] = test["message"].replace(log, kept[where])
                tests.append(test)
            entry = {**entry, "tests": tests}
        entries.append(entry)
    return {**doc, "exercises": entries}


def _keep(kept: _Kept, name: str, exercises, row: dict, doc: dict | None, out: str | None = None,
          grading_log: str | None = None) -> classpage.Student:
    """Keep a submission's report.json, the logs of its failing checks (and the grading's own output when
    it has no finished report) and write its report.html; return what the class page shows of it.
    A report that cannot be kept is a warning: the grade stands."""
    folder = kept.folder(name)
    try:
        os.makedirs(folder, exist_ok=True)
        if doc is not None and out is not None:
            doc = _keep_logs(out, folder, doc)
        if doc is not None:
            classpage.write_atomic(os.path.join(folder, "report.json"),
                                   json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        own_log = None
        if grading_log and (doc is None or doc.get("crashed")) and _copy_tail(
                grading_log, os.path.join(folder, "grading.log")):
            own_log = "grading.log"
        classpage.write_atomic(os.path.join(folder, "report.html"), classpage.student_page(
            name, row, doc, exercises, folder=folder, class_href=kept.class_href, grading_log=own_log))
    except Exception as exc:
        _say(f"warning: the report of {sanitize.text(name, 200)} could not be kept in {folder}: "
             f"{type(exc).__name__}: {sanitize.text(exc, 300)}")
    try:
        return classpage.summarise(name, row, doc, exercises)
    except Exception:  # a report the class page cannot read: its row still counts
        return classpage.summarise(name, row, None, exercises)


def _write_page(kept: _Kept, exercises, students: dict, done: int, dest: str) -> None:
    """The class page, atomically; a page that cannot be written is a warning (the CSV is the record)."""
    try:
        page = classpage.class_page([students[name] for name in sorted(students)], exercises,
                                    reports=os.path.basename(kept.reports), csv_name=os.path.basename(dest),
                                    done=done)
        classpage.write_atomic(kept.page, page)
    except Exception as exc:
        _say(f"warning: {kept.page} could not be written: {type(exc).__name__}: {sanitize.text(exc, 300)}")


def _grade_submission(name: str, folder: str, parent: str, exercises, hide: list[str], bound: float,
                      gradings: _Gradings, kept: _Kept) -> tuple[dict, classpage.Student]:
    """One submission: a private copy of its graded files, graded by a process of its own within BOUND seconds;
    its report kept."""
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
                timed_out = False
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                gradings.finish(proc)
        if timed_out:
            row, doc = _error_row(name, exercises, f"grading did not finish within {bound:g} s"), None
        else:
            doc, reason = _read_report(out)
            if doc is None:
                last = _last_line(log_path)
                row = _error_row(name, exercises,
                                 f"{reason} (exit code {proc.returncode}{': ' + last if last else ''})")
            else:
                doc = _refuse(doc, refused)
                row = _row(name, exercises, doc)
        return row, _keep(kept, name, exercises, row, doc, out, log_path)
    finally:
        shutil.rmtree(copy, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)


def _grade(name: str, folder: str, parent: str, exercises, hide: list[str], bound: float, gradings: _Gradings,
           kept: _Kept) -> tuple[dict, classpage.Student, float]:
    """Whatever goes wrong with one submission is its row's error, never the gradebook's end."""
    started = time.monotonic()
    try:
        row, student = _grade_submission(name, folder, parent, exercises, hide, bound, gradings, kept)
    except Exception as exc:
        row = _error_row(name, exercises, f"the gradebook failed on this submission: {type(exc).__name__}: {exc}")
        student = _keep(kept, name, exercises, row, None)
    return row, student, time.monotonic() - started


def _about(seconds: float) -> str:
    return f"{max(1, round(seconds))} s" if seconds < 60 else f"{round(seconds / 60)} min"


def gradebook(root: str, dest: str, jobs: int | None = None) -> int:
    """Grade every submission folder in ROOT into the CSV DEST, which lists every submission at every moment,
    and the class page beside it (DEST's name with .html), which links to a report per student."""
    started = time.monotonic()
    root, dest = os.path.realpath(root), os.path.abspath(dest)
    if not os.path.isdir(root):
        _say(f"{root} is not a folder of submissions")
        return 2
    jobs = max(1, jobs or os.cpu_count() or 1)
    exercises = catalogue.load()
    kept = _Kept(dest)
    if kept.problem(root):
        _say(kept.problem(root))
        return 2
    names = sorted(name for name in os.listdir(root)
                   if not name.startswith(".") and os.path.isdir(os.path.join(root, name))
                   and os.path.join(root, name) != os.path.realpath(kept.reports))  # a CSV written into ROOT
    rows = {name: _error_row(name, exercises, NOT_GRADED) for name in names}
    _write_csv(dest, exercises, rows)
    kept.start()
    students = {name: _keep(kept, name, exercises, rows[name], None) for name in names}
    _write_page(kept, exercises, students, 0, dest)
    if os.geteuid() != 0:
        _say(SAME_USER_WARNING)
    bound = BOUND_BASE + BOUND_PER_TIMEOUT * sum(ex.timeout for ex in exercises)
    hide = [root, os.path.join(catalogue.REPO, "solutions"), kept.reports]
    parent = tempfile.mkdtemp(prefix=f"proclab-{os.getpid()}-book-")  # 0700; sweep_stale removes it if we die
    gradings = _Gradings()
    durations = []
    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(_grade, name, os.path.join(root, name), parent, exercises, hide, bound, gradings,
                                   kept) for name in names]
            try:
                for future in as_completed(futures):
                    row, student, seconds = future.result()
                    rows[row["submission"]], students[row["submission"]] = row, student
                    _write_csv(dest, exercises, rows)
                    durations.append(seconds)
                    _write_page(kept, exercises, students, len(durations), dest)
                    left = len(names) - len(durations)
                    estimate = sum(durations) / len(durations) * -(-left // jobs)
                    error = f", {sanitize.text(row['error'], 500)}" if row["error"] else ""
                    _say(f"[{len(durations)}/{len(names)}] {sanitize.text(row['submission'], 200)}: "
                         f"{row['score']:g}/{row['max_score']:g}{error} ({seconds:.1f} s)"
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
    _say(f"class page: {kept.page} (a report per student in {kept.reports}{os.sep})")
    return 0
