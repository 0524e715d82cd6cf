"""The gradebook: graded files read safely, each submission from a private copy, a CSV row for everyone always,
a class page and a kept report per student, every student-influenced text shown inert."""

import csv
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from html.parser import HTMLParser
from urllib.parse import unquote_to_bytes, urlsplit

import psutil
import pytest
from conftest import REPO

from graders.harness import batch, classpage, cleanup
from graders.harness.submission import BadSubmission, private_copy, read_graded_file

COURSE = batch.catalogue.load()
IDS = [ex.id for ex in COURSE]
MAX = sum(ex.points for ex in COURSE)
EVERY_FILE = {f"exercises/{ex.topic}/{ex.file}": "" for ex in COURSE}  # a submission of every stub, emptied


def _entry(report: dict, ident: str) -> dict:
    return next(entry for entry in report["exercises"] if entry["id"] == ident)


def statuses(default: str, **given: str) -> str:
    """A CSV statuses cell: every exercise of the course in catalogue order, DEFAULT where not GIVEN."""
    return " ".join(f"{ident}={given.get(ident, default)}" for ident in IDS)

REL = "exercises/03_pipes/pipe_chain.py"
COPY_IGNORE = shutil.ignore_patterns("__pycache__")


def _refusal(root, relpath=REL, **kwargs) -> str:
    """The sentence read_graded_file refuses with; fails the test if it blocks for 5 s or accepts."""
    outcome = []

    def read():
        try:
            outcome.append(read_graded_file(str(root), relpath, **kwargs))
        except BadSubmission as exc:
            outcome.append(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(5)
    assert outcome, "read_graded_file blocked"
    assert isinstance(outcome[0], BadSubmission), f"accepted: {outcome[0][:60]!r}"
    return outcome[0].message


@pytest.fixture
def sub(tmp_path):
    """A submission whose exercises/03_pipes folder is there but empty."""
    (tmp_path / "sub" / "exercises" / "03_pipes").mkdir(parents=True)
    return tmp_path / "sub"


def test_a_regular_file_is_read(sub):
    (sub / REL).write_bytes(b"print('hi')\n")
    assert read_graded_file(str(sub), REL) == b"print('hi')\n"


def test_a_missing_file_is_refused(sub):
    assert _refusal(sub) == f"{REL} is missing: git checkout -- {REL} restores the stub"


def test_a_fifo_is_refused_without_waiting_for_a_writer(sub):
    os.mkfifo(sub / REL)
    message = _refusal(sub)
    assert message.startswith(f"{REL} is a named pipe (FIFO), not a regular file: graded files must be ordinary")
    assert f"git checkout -- {REL} restores the stub" in message


def test_a_socket_is_refused(sub):
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(sub / REL))
        assert _refusal(sub).startswith(f"{REL} is a socket, not a regular file")


def test_a_folder_is_refused(sub):
    (sub / REL).mkdir()
    assert _refusal(sub).startswith(f"{REL} is a folder, not a regular file")


def test_a_symlink_to_dev_null_is_refused(sub):
    os.symlink("/dev/null", sub / REL)
    assert _refusal(sub).startswith(f"{REL} is a symbolic link to /dev/null outside your submission")


def test_a_symlink_to_a_file_outside_is_refused(sub, tmp_path):
    (tmp_path / "theirs.py").write_text("print('not mine')\n")
    os.symlink(tmp_path / "theirs.py", sub / REL)
    assert _refusal(sub).startswith(f"{REL} is a symbolic link to {tmp_path / 'theirs.py'} outside your submission")


def test_a_symlinked_folder_leaving_the_submission_is_refused(sub, tmp_path):
    classmate = tmp_path / "classmate" / "exercises" / "03_pipes"
    classmate.mkdir(parents=True)
    (classmate / "pipe_chain.py").write_text("print('their work')\n")
    os.rmdir(sub / "exercises" / "03_pipes")
    os.symlink("../../classmate/exercises/03_pipes", sub / "exercises" / "03_pipes")
    message = _refusal(sub)
    assert message.startswith("exercises/03_pipes is a symbolic link to ../../classmate/exercises/03_pipes "
                              f"outside your submission, so {REL} is not in your submission")


def test_a_symlink_that_stays_inside_is_read(sub):
    (sub / "mine.py").write_bytes(b"print('mine')\n")
    os.symlink("../../mine.py", sub / REL)
    assert read_graded_file(str(sub), REL) == b"print('mine')\n"
    os.symlink(sub, sub.parent / "linked")  # the submission folder itself may be a link
    assert read_graded_file(str(sub.parent / "linked"), REL) == b"print('mine')\n"


def test_a_file_over_the_limit_is_refused(sub):
    (sub / REL).write_bytes(b"#" * 101)
    assert _refusal(sub, limit=100).startswith(f"{REL} is larger than 100 bytes")
    assert read_graded_file(str(sub), REL, limit=101) == b"#" * 101
    (sub / REL).write_bytes(b"#" * ((1 << 20) + 1))
    assert _refusal(sub).startswith(f"{REL} is larger than 1048576 bytes")


def test_the_layout_without_exercises_is_named_as_the_student_sees_it(tmp_path):
    assert _refusal(tmp_path, "03_pipes/pipe_chain.py").startswith(f"{REL} is missing")


def test_private_copy_copies_what_is_accepted_and_reports_the_rest(sub, tmp_path):
    (sub / "exercises" / "02_states").mkdir()
    (sub / "exercises" / "02_states" / "reaper.py").write_text("print('reaper')\n")
    os.chmod(sub / "exercises" / "02_states" / "reaper.py", 0o600)
    os.mkfifo(sub / REL)
    dest = tmp_path / "copy"
    dest.mkdir()
    refused = private_copy(str(sub), str(dest), ["exercises/02_states/reaper.py", REL])
    assert list(refused) == [REL] and "named pipe (FIFO)" in refused[REL]
    copied = dest / "exercises" / "02_states" / "reaper.py"
    assert copied.read_text() == "print('reaper')\n"
    assert copied.stat().st_mode & 0o7777 == 0o644 and not copied.is_symlink()
    for folder in (dest / "exercises", dest / "exercises" / "02_states"):
        assert folder.stat().st_mode & 0o7777 == 0o755
    assert not (dest / "exercises" / "03_pipes").exists()


# The gradebook, with a stand-in for `grade` (fast, and independent of the grading harness itself).

FAKE_GRADE = """
import argparse, json, os, subprocess, sys, time
from graders.harness import catalogue
p = argparse.ArgumentParser()
p.add_argument("--quiet", action="store_true")
p.add_argument("--target")
p.add_argument("--out")
p.add_argument("--hide", action="append", default=[])
args = p.parse_args()
texts = {}
for ex in catalogue.load():
    try:
        with open(ex.path_in(args.target)) as f:
            texts[ex.id] = f.read()
    except OSError:
        texts[ex.id] = ""
everything = "".join(texts.values())
if "HANG" in everything:
    child = subprocess.Popen(["sleep", "60"], start_new_session=True)
    with open(os.environ["FAKE_PIDFILE"], "w") as f:
        f.write(str(child.pid))
    time.sleep(60)
if "NOREPORT" in everything:
    sys.exit("boom: no report today")
with open(os.path.join(args.out, "report.json"), "w") as f:
    if "BADREPORT" in everything:
        f.write("[1, 2")
    else:
        entries = [entry(i, t) for i, t in texts.items()]
        json.dump({"score": 0, "max_score": sum(ex.points for ex in catalogue.load()), "exercises": entries,
                   "isolation": "hide " + " ".join(args.hide)}, f)
"""
# What a stand-in grading says of one exercise file: PASS or FAIL (else todo); MSG:text (to the end of the
# line) its first failure; LOG:text what the check printed (a kept log); FLAG or FLAGTEXT:text a flag.
FAKE_ENTRY = """
def after(text, key):
    return text.split(key, 1)[1].splitlines()[0] if key in text else None

def entry(ident, text):
    status = "pass" if "PASS" in text else "fail" if "FAIL" in text else "todo"
    tests = [{"name": "test_warm_up", "status": "pass", "message": "", "duration": 0.1},
             {"name": "test_one", "status": status, "duration": 0.1,
              "message": "" if status == "pass" else after(text, "MSG:") or "not started"},
             {"name": "test_two", "status": status, "duration": 0.1,
              "message": "" if status == "pass" else "a later failure"}]
    if after(text, "LOG:") is not None:
        log = os.path.join(args.out, "logs", ident, "test_one.log")
        os.makedirs(os.path.dirname(log), exist_ok=True)
        with open(log, "w") as f:
            f.write(after(text, "LOG:") + "\\n")
        tests[1]["log"] = log
        tests[1]["message"] += f" [what your code printed, tracebacks included: {log}]"
    flags = [after(text, "FLAGTEXT:")] if "FLAGTEXT:" in text else ["wrote outside its folder"] * ("FLAG" in text)
    return {"id": ident, "status": status, "score": 10 if status == "pass" else 0, "tests": tests,
            **({"flags": flags} if flags else {})}
"""
FAKE_GRADE = FAKE_GRADE.replace("texts = {}", FAKE_ENTRY + "texts = {}")


def _submission(root, name: str, files: dict) -> None:
    for relpath, text in files.items():
        path = root / name / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.fixture
def fake(tmp_path, monkeypatch):
    script = tmp_path / "fake_grade.py"
    script.write_text(FAKE_GRADE)
    monkeypatch.setattr(batch, "GRADE_COMMAND", [sys.executable, str(script)])
    monkeypatch.setenv("FAKE_PIDFILE", str(tmp_path / "grandchild.pid"))
    monkeypatch.setenv("PYTHONPATH", REPO)
    root = tmp_path / "subs"
    root.mkdir()
    return root


def _rows(path) -> dict:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [row["submission"] for row in rows] == sorted(row["submission"] for row in rows)
    return {row["submission"]: row for row in rows}


VOID = {"meta", "br", "img", "input", "link", "hr", "col", "wbr", "source", "area", "base", "embed"}
ACTIVE = {"script", "img", "iframe", "object", "embed", "frame", "link", "base", "form", "svg:script", "foreignobject",
          "image", "use", "animate", "set"}


class Page(HTMLParser):
    """A page parsed strictly: every element closed in order (else the test fails), with its attributes,
    children and the text inside it."""

    def __init__(self, path):
        super().__init__(convert_charrefs=True)
        self.path = str(path)
        self.root = {"tag": "#document", "attrs": {}, "children": [], "text": ""}
        self.stack, self.elements = [self.root], []
        with open(path, encoding="utf-8") as f:
            self.feed(f.read())
        self.close()
        assert [el["tag"] for el in self.stack] == ["#document"], f"unclosed elements in {path}: {self.stack[1:]}"

    def handle_starttag(self, tag, attrs, closed=False):
        element = {"tag": tag, "attrs": dict(attrs), "children": [], "text": ""}
        self.stack[-1]["children"].append(element)
        self.elements.append(element)
        if tag not in VOID and not closed:
            self.stack.append(element)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs, closed=True)

    def handle_endtag(self, tag):
        assert tag not in VOID and self.stack[-1]["tag"] == tag, f"</{tag}> closes <{self.stack[-1]['tag']}>"
        self.stack.pop()

    def handle_data(self, data):
        for element in self.stack:
            element["text"] += data

    def find(self, tag: str, cls: str | None = None) -> list[dict]:
        return [el for el in self.elements if el["tag"] == tag
                and (cls is None or cls in (el["attrs"].get("class") or "").split())]

    def target(self, link: dict) -> str:
        """The file a relative link leads to, from this page's folder."""
        parts = urlsplit(link["attrs"]["href"])
        assert not (parts.scheme or parts.netloc or parts.query or parts.fragment), link
        assert not parts.path.startswith("/"), link
        return os.path.normpath(os.path.join(os.path.dirname(self.path), os.fsdecode(unquote_to_bytes(parts.path))))

    def assert_inert(self) -> None:
        """No element, attribute or link that runs or loads anything; nothing but the styles inline."""
        for el in self.elements:
            assert el["tag"] not in ACTIVE, f"an active <{el['tag']}> in {self.path}"
            for name, value in el["attrs"].items():
                assert not name.startswith("on"), f"an event handler {name}={value!r} in {self.path}"
                assert "javascript:" not in (value or "").lower(), f"{name}={value!r} in {self.path}"
        csp = [el for el in self.find("meta") if el["attrs"].get("http-equiv") == "Content-Security-Policy"]
        assert csp and "default-src 'none'" in csp[0]["attrs"]["content"], "no Content-Security-Policy"


def _cells(row: dict) -> list[str]:
    return [cell["text"] for cell in row["children"] if cell["tag"] in ("td", "th")]


def _links_resolve(page: Page) -> list[str]:
    """Every link of the page leads to an existing file; the files, in order."""
    targets = [page.target(a) for a in page.find("a")]
    missing = [t for t in targets if not os.path.isfile(t)]
    assert not missing, f"links of {page.path} to missing files: {missing}"
    return targets


@pytest.mark.timeout(30)
def test_gradebook_rows_flags_isolation_and_errors(fake, tmp_path, capsys, monkeypatch):
    _submission(fake, "ann", {**EVERY_FILE, "exercises/02_states/reaper.py": "PASS",
                              "exercises/03_pipes/pipe_chain.py": "PASS FLAG"})
    _submission(fake, "ben", {"02_states/reaper.py": "PASS"})  # the exercise tree directly
    _submission(fake, "cat", {"exercises/02_states/reaper.py": "NOREPORT"})
    _submission(fake, "dan", {"exercises/02_states/reaper.py": "BADREPORT"})
    _submission(fake, "eve", {**{rel: text for rel, text in EVERY_FILE.items()
                                 if not rel.endswith(("/pipe_chain.py", "/graceful_worker.py"))},
                              "exercises/02_states/reaper.py": "PASS"})
    (fake / "eve" / "exercises" / "04_signals").mkdir(exist_ok=True)
    os.mkfifo(fake / "eve" / "exercises" / "04_signals" / "graceful_worker.py")
    (fake / ".hidden").mkdir()
    (fake / "notes.txt").write_text("not a submission")
    monkeypatch.setattr(batch.os, "geteuid", lambda: 1000)
    book = tmp_path / "book.csv"
    assert batch.gradebook(str(fake), str(book), jobs=2) == 0
    rows = _rows(book)
    assert list(rows) == ["ann", "ben", "cat", "dan", "eve"]
    assert list(next(iter(rows.values()))) == ["submission", *IDS, "score", "max_score", "statuses", "flags",
                                              "isolation", "error"]
    ann = rows["ann"]
    assert (ann["reaper"], ann["pipe_chain"], ann["score"], ann["max_score"]) == ("10", "10", "20", str(MAX))
    assert ann["statuses"] == statuses("todo", reaper="pass", pipe_chain="pass")
    assert ann["flags"] == "pipe_chain: wrote outside its folder" and ann["error"] == ""
    assert ann["isolation"] == (f"hide {os.path.realpath(fake)} {os.path.join(REPO, 'solutions')} "
                                f"{tmp_path / 'book-reports'}")
    assert rows["ben"]["score"] == "10"
    assert rows["cat"]["statuses"] == statuses("error")
    assert rows["cat"]["error"] == "the grading run wrote no report.json (exit code 1: boom: no report today)"
    assert rows["dan"]["error"].startswith("report.json cannot be read")
    eve = rows["eve"]
    assert eve["score"] == "10" and "graceful_worker=error" in eve["statuses"]
    assert "; graceful_worker: exercises/04_signals/graceful_worker.py is a named pipe (FIFO)" in eve["flags"]
    assert eve["flags"].startswith("pipe_chain: exercises/03_pipes/pipe_chain.py is missing: git checkout")
    err = capsys.readouterr().err
    assert err.startswith("warning: not running as root, so graded code runs as your own user (same-user mode)")
    assert re.search(rf"^\[1/5\] \w+: \d+/{MAX}.* \(\d+\.\d s\), about \d+ s left$", err, re.M), err
    assert re.search(rf"^\[5/5\] \w+: \d+/{MAX}.* \(\d+\.\d s\)$", err, re.M), err
    assert f"5 submissions graded into {book} in " in err


@pytest.mark.timeout(30)
def test_a_hanging_grading_is_killed_with_everything_it_started(fake, tmp_path, monkeypatch, capsys):
    _submission(fake, "hang", {"exercises/02_states/reaper.py": "HANG"})
    _submission(fake, "ok", {"exercises/02_states/reaper.py": "PASS"})
    monkeypatch.setattr(batch, "BOUND_BASE", 1.5)
    monkeypatch.setattr(batch, "BOUND_PER_TIMEOUT", 0)
    book = tmp_path / "book.csv"
    started = time.monotonic()
    batch.gradebook(str(fake), str(book), jobs=2)
    assert time.monotonic() - started < 10
    rows = _rows(book)
    assert rows["hang"]["error"] == "grading did not finish within 1.5 s" and rows["ok"]["score"] == "10"
    grandchild = int((tmp_path / "grandchild.pid").read_text())
    cleanup.reap_zombies()  # it was re-parented to this test process, the subreaper
    assert not psutil.pid_exists(grandchild) or psutil.Process(grandchild).status() == psutil.STATUS_ZOMBIE
    assert re.search(rf"^\[\d/2\] hang: 0/{MAX}, grading did not finish within 1.5 s \(1\.\d s\)",
                     capsys.readouterr().err,
                     re.M)


@pytest.mark.timeout(30)
def test_an_exception_in_one_submission_stops_no_other(fake, tmp_path, monkeypatch):
    _submission(fake, "ann", {"exercises/02_states/reaper.py": "PASS"})
    _submission(fake, "bob", {"exercises/02_states/reaper.py": "PASS"})
    real_copy = batch.private_copy

    def copy(src, dest, relpaths):
        if src.endswith("bob"):
            raise PermissionError(13, "Permission denied")
        return real_copy(src, dest, relpaths)

    monkeypatch.setattr(batch, "private_copy", copy)
    book = tmp_path / "book.csv"
    assert batch.gradebook(str(fake), str(book), jobs=1) == 0
    rows = _rows(book)
    assert rows["ann"]["score"] == "10"
    assert rows["bob"]["error"] == ("the gradebook failed on this submission: "
                                    "PermissionError: [Errno 13] Permission denied")


def test_csv_cells_that_would_start_a_formula_are_neutralised(tmp_path):
    exercises = batch.catalogue.load()
    hostile = ["=HYPERLINK(\"http://evil\",\"x\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\tTAB", "\rCR",
               "\nLF"]
    rows = {}
    for text in hostile:
        row = batch._error_row(text, exercises, text)
        row.update(statuses=text, flags=text, isolation=text)
        rows[text] = row
    rows["ann"] = batch._error_row("ann", exercises, "a plain sentence - with = and + inside")
    book = tmp_path / "book.csv"
    batch._write_csv(str(book), exercises, rows)
    with open(book, newline="") as f:
        written = {row["submission"]: row for row in csv.DictReader(f)}
    assert set(written) == {"'" + text for text in hostile} | {"ann"}
    for text in hostile:
        row = written["'" + text]
        for column in ("statuses", "flags", "isolation", "error"):
            assert row[column] == "'" + text, (column, row[column])
        assert row["score"] == "0" and row["reaper"] == "0"  # numbers stay numbers
    assert written["ann"]["error"] == "a plain sentence - with = and + inside"


@pytest.mark.timeout(30)
def test_folder_names_that_would_start_a_formula_reach_the_csv_neutralised(fake, tmp_path):
    names = ["=1+2", "+SUM(1)", "-5", "@A1", "\tx", "\rx", "zoe"]
    for name in names:
        _submission(fake, name, {"exercises/02_states/reaper.py": "PASS"})
    book = tmp_path / "book.csv"
    assert batch.gradebook(str(fake), str(book), jobs=2) == 0
    with open(book, newline="") as f:
        written = [row["submission"] for row in csv.DictReader(f)]
    assert written == [name if name == "zoe" else "'" + name for name in sorted(names)]


def test_normalising_replaces_what_varies_between_students():
    normalise = classpage.normalise
    assert normalise("pid 4242 exited after 1.53 s at 0x7f3a9c01 in /tmp/proclab-77/s1/reaper.py") == \
        "pid <n> exited after <n> s at <hex> in <path>"
    assert normalise("pid 9 exited after 20 s at 0xdeadbeef in /home/ann/reaper.py") == \
        "pid <n> exited after <n> s at <hex> in <path>"
    # the OS's own paths are the lesson: kept, with their numbers replaced
    assert normalise("state Z in /proc/4242/stat, python3.11,  2nd  try") == \
        "state Z in /proc/<n>/stat, python3.11, 2nd try"


def test_the_first_failure_is_that_of_the_first_check_that_failed():
    entry = {"tests": [{"status": "pass", "message": ""}, {"status": "todo", "message": "not started"},
                       {"status": "fail", "message": "the first\x1b[31m <b>"}, {"status": "error", "message": "later"}]}
    assert classpage.first_failure(entry) == "the first\\x1b[31m <b>"  # sanitised, not yet escaped
    assert classpage.first_failure({"tests": [{"status": "pass", "message": ""}]}) == ""
    assert classpage.first_failure({"tests": "not a list"}) == ""


def _gradebook_page(fake, tmp_path, **kwargs) -> tuple[dict, Page]:
    book = tmp_path / "book.csv"
    assert batch.gradebook(str(fake), str(book), **kwargs) == 0
    page = Page(tmp_path / "book.html")
    page.assert_inert()
    return _rows(book), page


@pytest.mark.timeout(30)
def test_the_class_page_counts_each_first_failure_once_whatever_its_pids_times_paths_and_addresses(fake, tmp_path):
    for n, (pid, seconds, address) in enumerate([(4242, "1.5", "0x7f3a"), (17, "0.25", "0xdeadbeef"),
                                                 (99999, "12", "0x1")]):
        _submission(fake, f"s{n}", {"exercises/02_states/reaper.py":
                                    f"FAIL MSG:pid {pid} is a zombie after {seconds} s (frame at {address}, "
                                    f"file /tmp/run-{n}/reaper.py)"})
    _submission(fake, "s3", {"exercises/02_states/reaper.py": "FAIL MSG:no SIGCHLD handler is installed"})
    _submission(fake, "s4", {"exercises/02_states/reaper.py": "PASS"})
    _, page = _gradebook_page(fake, tmp_path, jobs=2)
    reaper = next(row for row in page.find("tr", "failure") if row["attrs"]["data-exercise"] == "reaper")
    assert reaper["attrs"]["data-count"] == "3"
    pattern = next(el for el in page.find("span", "pattern") if el in reaper["children"][2]["children"])
    assert pattern["text"] == "pid <n> is a zombie after <n> s (frame at <hex>, file <path>)"
    assert _cells(reaper)[1] == "3 of 4"
    assert "1 × no SIGCHLD handler is installed" in reaper["text"]


@pytest.mark.timeout(30)
def test_every_student_has_a_kept_report_linked_from_the_class_page(fake, tmp_path):
    _submission(fake, "ann", {"exercises/02_states/reaper.py": "PASS", "exercises/03_pipes/pipe_chain.py": "FAIL"})
    _submission(fake, "cat", {"exercises/02_states/reaper.py": "NOREPORT"})
    _submission(fake, "a #?%&name", {"exercises/02_states/reaper.py": "PASS"})
    os.makedirs(os.fsencode(fake) + b"/caf\xe9-latin1/exercises/02_states")  # a name that is no UTF-8
    rows, page = _gradebook_page(fake, tmp_path, jobs=2)
    students = page.find("tr", "student")
    assert list(rows) == ["a #?%&name", "ann", "caf\\udce9-latin1", "cat"]  # the CSV escapes the byte
    assert [_cells(row)[0] for row in students] == ["a #?%&name", "ann", "caf\ufffd-latin1", "cat"]
    targets = _links_resolve(page)
    reports = tmp_path / "book-reports"
    assert targets[0] == str(tmp_path / "book.csv")
    for name in ("a #?%&name", "ann", os.fsdecode(b"caf\xe9-latin1"), "cat"):
        assert str(reports / name / "report.html") in targets, name
        student = Page(reports / name / "report.html")
        student.assert_inert()
        assert _links_resolve(student)[0] == str(tmp_path / "book.html")
    with open(reports / "ann" / "report.json") as f:
        kept = json.load(f)
    kept_statuses = {e["id"]: e["status"] for e in kept["exercises"]}
    assert (kept_statuses["reaper"], kept_statuses["pipe_chain"]) == ("pass", "fail"), kept_statuses
    assert not (reports / "cat" / "report.json").exists()  # no report came back: its page says why
    cat = Page(reports / "cat" / "report.html")
    assert ("Gradebook error: the grading run wrote no report.json (exit code 1: boom: no report today)"
            in cat.root["text"])
    assert "boom: no report today" in cat.find("pre", "log")[0]["text"]  # the grading's own output
    assert sorted(os.listdir(reports)) == [".proclab-gradebook", "a #?%&name", "ann", os.fsdecode(b"caf\xe9-latin1"),
                                           "cat"]


@pytest.mark.timeout(30)
def test_the_logs_of_failing_checks_are_kept_and_shown_inert(fake, tmp_path):
    _submission(fake, "ann", {**EVERY_FILE,
                              "exercises/02_states/reaper.py": "FAIL MSG:it broke\nLOG:<iframe src=x></iframe>\x1b[2J"})
    rows, page = _gradebook_page(fake, tmp_path)
    folder = tmp_path / "book-reports" / "ann"
    with open(folder / "report.json") as f:
        test = _entry(json.load(f), "reaper")["tests"][1]
    assert test["log"] == "logs/reaper/test_one.log"
    assert test["message"] == "it broke [what your code printed, tracebacks included: logs/reaper/test_one.log]"
    assert (folder / test["log"]).read_text() == "<iframe src=x></iframe>\x1b[2J\n"
    student = Page(folder / "report.html")
    student.assert_inert()
    assert str(folder / "logs" / "reaper" / "test_one.log") in _links_resolve(student)
    assert student.find("pre", "log")[0]["text"] == "<iframe src=x></iframe>\\x1b[2J"


@pytest.mark.timeout(30)
def test_a_hostile_folder_name_message_and_flag_are_shown_inert(fake, tmp_path):
    name = "<img src=x onerror=alert(1)>\"'&"
    message = "<script>alert('m')</script><!-- \u202e"
    flag = "<b onmouseover=alert(2)>bold</b>"
    _submission(fake, name, {"exercises/02_states/reaper.py": f"FAIL MSG:{message}\nFLAGTEXT:{flag}",
                             **{f"exercises/{ex.topic}/{ex.file}": "PASS" for ex in COURSE if ex.id != "reaper"}})
    rows, page = _gradebook_page(fake, tmp_path)
    student = Page(tmp_path / "book-reports" / name / "report.html")
    student.assert_inert()
    shown = "<script>alert('m')</script><!-- \\u202e"  # the text itself, its invisible character made visible
    assert _cells(page.find("tr", "student")[0])[0] == name
    assert shown in page.find("tr", "failure")[0]["text"]
    assert [_cells(row) for row in page.find("tr", "flagged")] == [[name, "reaper", flag]]
    assert student.find("h1")[0]["text"] == f"{name}: {MAX - 10}/{MAX}"
    assert shown in student.root["text"] and flag in student.root["text"]
    for path in (tmp_path / "book.html", tmp_path / "book-reports" / name / "report.html"):
        assert "<script>" not in path.read_text() and "<b onmouseover" not in path.read_text()


@pytest.mark.timeout(30)
def test_the_class_page_and_reports_are_private_and_hidden_from_graded_code(fake, tmp_path):
    _submission(fake, "ann", {"exercises/02_states/reaper.py": "PASS"})
    book = tmp_path / "book.csv"
    assert batch.gradebook(str(fake), str(book)) == 0
    reports = tmp_path / "book-reports"
    assert _rows(book)["ann"]["isolation"].split()[-1] == str(reports)  # a --hide of every grading
    assert reports.stat().st_mode & 0o777 == 0o700
    for path in (book, tmp_path / "book.html", reports / "ann" / "report.html", reports / "ann" / "report.json"):
        assert path.stat().st_mode & 0o777 == 0o600, path  # the owner's only, as the CSV always was


def test_a_page_is_replaced_whole_or_not_at_all(tmp_path, monkeypatch):
    path = tmp_path / "book.html"
    classpage.write_atomic(str(path), "<p>first</p>")
    assert path.read_text() == "<p>first</p>" and path.stat().st_mode & 0o777 == 0o600  # private, as the CSV

    def refuse(src, dest):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(classpage.os, "replace", refuse)
    with pytest.raises(OSError):
        classpage.write_atomic(str(path), "<p>second</p>")
    assert path.read_text() == "<p>first</p>" and os.listdir(tmp_path) == ["book.html"]


@pytest.mark.timeout(30)
def test_a_class_page_that_cannot_be_written_leaves_the_csv_full(fake, tmp_path, monkeypatch, capsys):
    _submission(fake, "ann", {"exercises/02_states/reaper.py": "PASS"})
    monkeypatch.setattr(batch.classpage, "class_page", lambda *args, **kwargs: 1 / 0)
    book = tmp_path / "book.csv"
    assert batch.gradebook(str(fake), str(book)) == 0
    assert _rows(book)["ann"]["score"] == "10"
    assert f"warning: {tmp_path / 'book.html'} could not be written: ZeroDivisionError" in capsys.readouterr().err


@pytest.mark.timeout(30)
def test_a_folder_that_is_no_gradebooks_reports_is_never_replaced(fake, tmp_path, capsys):
    _submission(fake, "ann", {"exercises/02_states/reaper.py": "PASS"})
    (tmp_path / "book-reports").mkdir()
    (tmp_path / "book-reports" / "precious.txt").write_text("mine")
    book = tmp_path / "book.csv"
    assert batch.gradebook(str(fake), str(book)) == 2
    assert (tmp_path / "book-reports" / "precious.txt").read_text() == "mine" and not book.exists()
    os.unlink(tmp_path / "book-reports" / "precious.txt")
    os.rmdir(tmp_path / "book-reports")
    assert batch.gradebook(str(fake), str(book)) == 0
    shutil.rmtree(fake / "ann")
    _submission(fake, "bob", {"exercises/02_states/reaper.py": "PASS"})
    assert batch.gradebook(str(fake), str(book)) == 0  # its own reports folder: replaced, ann's report gone
    assert sorted(os.listdir(tmp_path / "book-reports")) == [".proclab-gradebook", "bob"]
    capsys.readouterr()
    os.rename(fake, tmp_path / "class-reports")
    assert batch.gradebook(str(tmp_path / "class-reports"), str(tmp_path / "class.csv")) == 2
    assert "class-reports would be the folder of the submissions: choose another --csv" in capsys.readouterr().err
    assert os.listdir(tmp_path / "class-reports") == ["bob"]


# The gradebook for real: the CLI grading whole submissions.


def _cli(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "graders.harness", "gradebook", *args], cwd=REPO,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)


def _no_leftovers():
    left = cleanup.living_descendants()
    cleanup.kill_descendants()
    assert not left, f"the gradebook left processes running: {[p.cmdline() for p in left]}"


HOSTILE = "=1+2<img src=x onerror=alert(1)> #?%"  # a formula, markup and URL syntax in a folder name
HOSTILE_PIPE_CHAIN = """def run_pipeline(commands, input=b""):
    print("<b>printed</b> at 0xdeadbeef", flush=True)
    raise RuntimeError("<script>alert('owned')</script>")
"""
NAMES = [HOSTILE, "alice", "bob", "carol", "dave", "erin"]


@pytest.fixture(scope="module")
def real_book(tmp_path_factory):
    """One real gradebook (the CLI, 2 jobs) of six submissions: solved, untouched, a FIFO exercise file, a 03_pipes
    folder linked to a classmate's, half-solved, and a hostile one: a flagged reaper (it walks the grader's frames),
    a pipe_chain that prints and raises markup, its other exercises solved, markup in its folder name."""
    tmp_path = tmp_path_factory.mktemp("real-book")
    root = tmp_path / "submissions"
    shutil.copytree(os.path.join(REPO, "solutions"), root / "alice" / "exercises", ignore=COPY_IGNORE)
    shutil.copytree(os.path.join(REPO, "exercises"), root / "bob" / "exercises", ignore=COPY_IGNORE)
    shutil.copytree(os.path.join(REPO, "solutions"), root / "carol", ignore=COPY_IGNORE)  # the tree directly
    os.unlink(root / "carol" / "03_pipes" / "pipe_chain.py")
    os.mkfifo(root / "carol" / "03_pipes" / "pipe_chain.py")
    shutil.copytree(os.path.join(REPO, "exercises"), root / "dave" / "exercises", ignore=COPY_IGNORE)
    shutil.rmtree(root / "dave" / "exercises" / "03_pipes")
    os.symlink("../../alice/exercises/03_pipes", root / "dave" / "exercises" / "03_pipes")
    shutil.copytree(os.path.join(REPO, "exercises"), root / "erin" / "exercises", ignore=COPY_IGNORE)
    for rel in ("02_states/reaper.py", "03_pipes/pipe_chain.py"):
        shutil.copy(os.path.join(REPO, "solutions", rel), root / "erin" / "exercises" / rel)
    shutil.copytree(os.path.join(REPO, "solutions"), root / HOSTILE / "exercises", ignore=COPY_IGNORE)
    shutil.copy(os.path.join(REPO, "tests", "trust", "introspects.py"), root / HOSTILE / "exercises" / "02_states"
                / "reaper.py")
    (root / HOSTILE / "exercises" / "03_pipes" / "pipe_chain.py").write_text(HOSTILE_PIPE_CHAIN)
    dest = tmp_path / "book.csv"
    proc = _cli(str(root), "--csv", str(dest), "--jobs", "2", text=True)
    try:
        _, err = proc.communicate(timeout=420)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        _no_leftovers()
    assert proc.returncode == 0, err
    return tmp_path, _rows(dest), err


def _name(cell: str) -> str:
    """A submission's name from its CSV cell: a name that would start a formula has a `'` before it."""
    return cell[1:] if cell.startswith("'=") else cell


@pytest.mark.timeout(480)
def test_gradebook_grades_each_submission_from_its_own_copy(real_book):
    _, rows, err = real_book
    assert [_name(name) for name in rows] == NAMES
    hostile, alice, bob, carol, dave, erin = rows.values()
    assert alice["statuses"] == statuses("pass"), alice
    assert float(alice["score"]) == float(alice["max_score"]) == MAX
    assert bob["statuses"] == statuses("todo"), bob
    assert float(bob["score"]) == 0

    assert carol["statuses"] == statuses("pass", pipe_chain="error"), carol
    assert float(carol["pipe_chain"]) == 0 and float(carol["score"]) == MAX - 10
    assert carol["flags"].startswith(f"pipe_chain: {REL} is a named pipe (FIFO), not a regular file")

    linked = {ex.id: "error" for ex in COURSE if ex.topic == "03_pipes"}  # his 03_pipes folder is a link
    assert dave["statuses"] == statuses("todo", **linked), dave
    assert float(dave["pipe_chain"]) == 0 and float(dave["score"]) == 0  # alice's marks are not his
    assert dave["flags"].startswith("pipe_chain: exercises/03_pipes is a symbolic link to ../../alice/exercises/"
                                    "03_pipes outside your submission")

    assert erin["statuses"] == statuses("todo", reaper="pass", pipe_chain="pass"), erin
    assert float(erin["score"]) == 20
    assert hostile["submission"] == "'" + HOSTILE  # no formula in a spreadsheet
    assert hostile["statuses"] == statuses("pass", reaper="fail", pipe_chain="fail"), hostile
    assert float(hostile["score"]) == MAX - 20 and "reaper: your code called sys._getframe()" in hostile["flags"]

    for name in NAMES:
        assert re.search(rf"^\[[1-6]/6\] {re.escape(name)}: [\d.]+/{MAX} \(\d+\.\d s\)", err, re.M), err
    assert re.search(r"^6 submissions graded into .*book\.csv in \d+\.\d s$", err, re.M), err


def _bins(rows: dict, bars: list[dict]) -> list[int]:
    """How many CSV scores fall in each bar's range: from its low bound up to its high one, the last bar's included."""
    scores = [float(row["score"]) for row in rows.values()]
    counts = []
    for i, bar in enumerate(bars):
        low, high = float(bar["attrs"]["data-low"]), float(bar["attrs"]["data-high"])
        counts.append(sum(low <= s < high or (i == len(bars) - 1 and s == high) for s in scores))
    return counts


@pytest.mark.timeout(480)
def test_the_class_page_shows_the_histogram_pass_rates_flags_and_every_student(real_book):
    tmp_path, rows, _ = real_book
    page = Page(tmp_path / "book.html")
    page.assert_inert()
    svg = page.find("svg", "histogram")[0]
    bars = page.find("rect", "bar")
    counts = [int(bar["attrs"]["data-count"]) for bar in bars]
    assert len(bars) == 10 and sum(counts) == len(rows) == 6
    assert counts == _bins(rows, bars) and counts[-1] >= 1, counts  # alice has every point
    assert counts[0] == sum(float(row["score"]) < MAX / 10 for row in rows.values()) >= 2, counts  # bob, dave
    assert [int(el["text"]) for el in page.find("text", "count")] == counts
    first, last = [el["text"] for el in page.find("text", "range")][::9]
    assert first.startswith("0–") and last.endswith(f"–{MAX}"), (first, last)
    assert f"total score (points out of {MAX})" in svg["text"] and "submissions" in svg["text"]

    for row in page.find("tr", "exercise"):
        ident = row["attrs"]["data-exercise"]
        passed = sum(f"{ident}=pass" in r["statuses"].split() for r in rows.values())
        assert (row["attrs"]["data-passed"], row["attrs"]["data-graded"]) == (str(passed), "6"), ident
        assert _cells(row)[1] == f"{passed}/6"
    assert [row["attrs"]["data-exercise"] for row in page.find("tr", "exercise")] == IDS

    flagged = [_cells(row) for row in page.find("tr", "flagged")]
    linked = [ex.id for ex in COURSE if ex.topic == "03_pipes"]  # dave's 03_pipes folder is a link: each refused
    assert {(who, ident) for who, ident, _ in flagged} == {(HOSTILE, "reaper"), ("carol", "pipe_chain"),
                                                           *(("dave", ident) for ident in linked)}
    assert any(who == HOSTILE and "sys._getframe()" in flag for who, _, flag in flagged), flagged

    students = page.find("tr", "student")
    assert [_cells(row)[0] for row in students] == NAMES
    for row, (cell, csv_row) in zip(students, rows.items()):
        cells = _cells(row)
        assert cells[1] == f"{float(csv_row['score']):g}/{MAX}", (cell, cells)
        assert " ".join(f"{ident}={text.split()[0]}" for ident, text in zip(
            IDS, cells[2:2 + len(IDS)])) == csv_row["statuses"]
    targets = _links_resolve(page)
    assert set(targets) == {str(tmp_path / "book.csv"), *(str(tmp_path / "book-reports" / name / "report.html")
                                                           for name in NAMES)}


@pytest.mark.timeout(480)
def test_each_students_report_is_kept_with_the_logs_of_its_failing_checks(real_book):
    tmp_path, rows, _ = real_book
    reports = tmp_path / "book-reports"
    for name, row in zip(NAMES, rows.values()):
        with open(reports / name / "report.json") as f:
            kept = json.load(f)
        assert " ".join(f"{e['id']}={e['status']}" for e in kept["exercises"]) == row["statuses"], name
        assert kept["score"] == float(row["score"]), name
        page = Page(reports / name / "report.html")
        page.assert_inert()
        _links_resolve(page)
    with open(reports / "carol" / "report.json") as f:  # the gradebook's verdict: the refused FIFO
        pipe_chain = _entry(json.load(f), "pipe_chain")
    assert pipe_chain["status"] == "error" and pipe_chain["flags"][0].startswith(f"{REL} is a named pipe (FIFO)")
    with open(reports / HOSTILE / "report.json") as f:
        tests = _entry(json.load(f), "pipe_chain")["tests"]
    logged = [t for t in tests if "log" in t]
    assert logged and all(t["log"].startswith("logs/pipe_chain/test_") for t in logged), tests
    assert f"tracebacks included: {logged[0]['log']}]" in logged[0]["message"]
    assert "<b>printed</b> at 0xdeadbeef" in (reports / HOSTILE / logged[0]["log"]).read_text()
    page = Page(reports / HOSTILE / "report.html")
    assert "<b>printed</b> at 0xdeadbeef" in page.find("pre", "log")[0]["text"]
    assert str(reports / HOSTILE / logged[0]["log"]) in _links_resolve(page)


@pytest.mark.timeout(480)
def test_a_hostile_submission_is_shown_inert_on_every_page(real_book):
    tmp_path, rows, _ = real_book
    for path in (tmp_path / "book.html", tmp_path / "book-reports" / HOSTILE / "report.html"):
        page = Page(path)
        page.assert_inert()
        assert HOSTILE in page.root["text"] and "<script>alert('owned')</script>" in page.root["text"], path
        assert "<script>alert" not in path.read_text() and "<img src" not in path.read_text()
    page = Page(tmp_path / "book-reports" / HOSTILE / "report.html")
    assert page.find("h1")[0]["text"] == f"{HOSTILE}: {MAX - 20}/{MAX}"
    assert any("sys._getframe()" in el["text"] for el in page.find("td", "flag"))


@pytest.mark.timeout(240)
def test_a_killed_gradebook_leaves_a_row_for_everyone(tmp_path):
    root = tmp_path / "submissions"
    for name in ("amy", "bea", "cy"):
        shutil.copytree(os.path.join(REPO, "exercises"), root / name / "exercises", ignore=COPY_IGNORE)
    dest = tmp_path / "book.csv"
    proc = _cli(str(root), "--csv", str(dest), "--jobs", "1")
    seen, deadline = b"", time.monotonic() + 150
    try:
        while b"[1/3] " not in seen and time.monotonic() < deadline and proc.poll() is None:
            if select.select([proc.stderr], [], [], 0.5)[0]:
                seen += os.read(proc.stderr.fileno(), 4096)
        assert f"[1/3] amy: 0/{MAX}".encode() in seen, seen
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
        cleanup.kill_descendants()  # its gradings in progress, re-parented to this test process
    rows = _rows(dest)
    assert list(rows) == ["amy", "bea", "cy"]
    assert rows["amy"]["statuses"] == statuses("todo")
    for name in ("bea", "cy"):
        assert rows[name]["error"] == "not graded: the gradebook was interrupted"
        assert rows[name]["statuses"] == statuses("error")
    page = Page(tmp_path / "book.html")  # whole, with everyone, each linked to a page that exists
    assert "1 of 3 submissions graded" in page.find("p", "banner")[0]["text"]
    assert [_cells(row)[:3] for row in page.find("tr", "student")] == [
        ["amy", f"0/{MAX}", "todo 0"], ["bea", f"0/{MAX}", "not graded"], ["cy", f"0/{MAX}", "not graded"]]
    assert len(_links_resolve(page)) == 4
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".")]  # no temporary file left
