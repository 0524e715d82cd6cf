"""The gradebook's class report: one self-contained HTML page for the class and a small page per student.

No network, no script: inline CSS and inline SVG only, under a Content-Security-Policy that allows neither
scripts nor anything fetched. Every piece of student-influenced text (folder names, messages, flags, logs,
errors) is made one visible line by sanitize.text and then HTML-escaped; every link is relative and
URL-quoted. The pages are written atomically (a temporary file renamed over the old one) and, like the
gradebook's CSV, readable by their owner only."""

import contextlib
import html
import math
import os
import re
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import quote

from graders.harness import sanitize
from graders.harness.outcome import ERROR, FAIL, PASS, TODO

STATUSES = (PASS, FAIL, TODO, ERROR)
NOT_GRADED = "not graded"  # the gradebook has no report for this submission (its row has an error)
BINS = 10  # bars of the score histogram
PATTERN_LIMIT = 600  # characters of a normalised first failure shown
EXAMPLE_LIMIT = 300  # characters of an example message shown beside a pattern
OTHER_PATTERNS = 5  # runner-up first failures listed per exercise
LOG_READ_LIMIT = 64 << 10  # bytes of the end of a log shown on a student's page
LOG_LINES = 200  # lines of the end of a log shown
LOG_LINE_LIMIT = 500  # characters of one log line shown
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"

# Normalising a message before counting: what differs between students who made the same mistake.
_PATH = re.compile(r"(?<![\w.~<>-])/(?!(?:proc|dev|sys)(?:/|\b))[^\s'\"`()\[\]{},;:<>|]+")
_HEX = re.compile(r"\b0x[0-9a-fA-F]+\b")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?!\w)")

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em auto; max-width: 76em; padding: 0 1em; color: #1d1d1f; }
h1 { font-size: 1.6em; margin-bottom: .2em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .5em 0; } th, td { border: 1px solid #ddd; padding: .25em .5em;
  text-align: left; vertical-align: top; } th { background: #f4f4f6; } td.num, th.num { text-align: right; }
td.msg, td.flag, td.err { max-width: 48em; overflow-wrap: anywhere; font-family: ui-monospace, monospace;
  font-size: 12px; }
.pass { background: #e3f6e5; } .fail { background: #fde4e1; } .todo { background: #fff3d6; }
.error { background: #f0e3f7; } .not-graded, .other { background: #eee; }
.rate { display: inline-block; width: 12em; height: .9em; background: #eee; border: 1px solid #ccc;
  vertical-align: middle; } .rate span { display: block; height: 100%; background: #3a9a4a; }
.note { color: #555; } .banner { background: #fff3d6; border: 1px solid #e0c060; padding: .5em; }
svg text { font: 12px system-ui, sans-serif; fill: #1d1d1f; } svg .bar { fill: #4a78c2; }
pre { background: #f6f6f8; border: 1px solid #ddd; padding: .5em; overflow-x: auto; font-size: 12px; }
"""


def esc(value, limit: int = 2000) -> str:
    """Student-influenced text as HTML text or attribute content: one visible line, then escaped."""
    return html.escape(sanitize.text("" if value is None else value, limit), quote=True)


def _short(text: str, limit: int) -> str:
    """Already sanitised text cut to LIMIT characters."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def href(*parts: str) -> str:
    """A relative link from path components, each URL-quoted (a folder name may hold `#`, `?`, `%`, ...,
    or bytes that are no UTF-8: those are quoted as the bytes they are), ready for an attribute."""
    return html.escape("/".join(quote(os.fsencode(part), safe="") for part in parts), quote=True)


def normalise(message: str) -> str:
    """A message with what varies between students replaced by placeholders, so that one mistake counts
    once: paths (but /proc, /dev and /sys, the OS facts themselves), hex addresses, numbers (pids, times,
    counts), and runs of white space."""
    message = _PATH.sub("<path>", message)
    message = _HEX.sub("<hex>", message)
    message = _NUMBER.sub("<n>", message)
    return " ".join(message.split())


def _number(value) -> float:
    """A score as a number: an int or float, or one written as text (a CSV row); anything else is 0."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return 0.0
    try:
        number = float(value)
    except ValueError:
        return 0.0
    return number if math.isfinite(number) else 0.0


def _points(value) -> str:
    return f"{round(_number(value), 2):g}"


def _status_class(status: str) -> str:
    return status if status in STATUSES else "not-graded" if status == NOT_GRADED else "other"


def _tests(entry: dict) -> list[dict]:
    tests = entry.get("tests")
    return [t for t in tests if isinstance(t, dict)] if isinstance(tests, list) else []


def first_failure(entry: dict) -> str:
    """The message of an exercise's first failing check (fail or error first, else any that did not pass),
    as sanitize.text shows it; "" when there is none."""
    failing = [t for t in _tests(entry) if t.get("status") != PASS and t.get("message")]
    failing.sort(key=lambda t: t.get("status") not in (FAIL, ERROR))  # stable: in their order otherwise
    return sanitize.text(failing[0]["message"]) if failing else ""


def entry_flags(entry: dict) -> list[str]:
    found = entry.get("flags") or []
    return [sanitize.text(flag, 500) for flag in (found if isinstance(found, list) else [found])]


@dataclass
class Student:
    """What the class page shows of one submission. NAME is the folder name as it is (links need it); every
    other text is already sanitised, none is escaped yet."""
    name: str
    score: float
    max_score: float
    error: str = ""
    graded: bool = False
    isolation: str = ""
    statuses: dict = field(default_factory=dict)  # exercise id -> pass/fail/todo/error, or NOT_GRADED
    scores: dict = field(default_factory=dict)
    failures: dict = field(default_factory=dict)  # exercise id -> first failure of a fail or error
    flags: list = field(default_factory=list)  # (exercise id, flag)


def summarise(name: str, row: dict, doc: dict | None, exercises) -> Student:
    """A submission's CSV row and its report (None when the gradebook has none) as the class page needs them."""
    student = Student(name=name, score=_number(row.get("score")), max_score=_number(row.get("max_score")),
                      error=sanitize.text(row.get("error") or "", 500), graded=doc is not None,
                      isolation=sanitize.text(row.get("isolation") or "", 100))
    entries = {e["id"]: e for e in doc["exercises"]} if doc is not None else {}
    for ex in exercises:
        if doc is None:
            student.statuses[ex.id], student.scores[ex.id] = NOT_GRADED, 0.0
            continue
        entry = entries.get(ex.id, {"status": ERROR, "score": 0, "tests": [
            {"status": ERROR, "message": "the report has no entry for this exercise"}]})
        status = entry.get("status")
        student.statuses[ex.id] = status if isinstance(status, str) else ERROR
        student.scores[ex.id] = _number(entry.get("score"))
        if status in (FAIL, ERROR):
            message = first_failure(entry)
            if message:
                student.failures[ex.id] = message
        student.flags += [(ex.id, flag) for flag in entry_flags(entry)]
    return student


# The class page.

def _histogram(students: list[Student], max_score: float) -> str:
    """An inline SVG bar chart of the total scores: BINS equal bins from 0 to the maximum, the last one
    holding full marks, each bar with its count above it and its range below."""
    bins = BINS if max_score > 0 else 1
    step = max_score / bins if max_score > 0 else 1.0
    counts = [0] * bins
    for student in students:
        counts[max(0, min(bins - 1, int(student.score / step + 1e-9)))] += 1
    width, height, left, right, top, bottom = 720, 300, 60, 20, 28, 64
    plot_w, plot_h = width - left - right, height - top - bottom
    ceiling = max(1, max(counts))
    tick = max(1, -(-ceiling // 5))
    ceiling = -(-ceiling // tick) * tick
    bar_w = plot_w / bins
    parts = [f'<svg class="histogram" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="score distribution">',
             f"<title>score distribution of {len(students)} submissions</title>"]
    for value in range(0, ceiling + 1, tick):
        y = top + plot_h - plot_h * value / ceiling
        parts.append(f'<line x1="{left - 4}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#e4e4e4"/>'
                     f'<text class="tick" x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{value}</text>')
    for i, count in enumerate(counts):
        low, high = i * step, (i + 1) * step if max_score > 0 else max_score
        x = left + i * bar_w
        h = plot_h * count / ceiling
        span = f"{low:g} to {high:g}" + (" (full marks included)" if i == bins - 1 else f" (below {high:g})")
        parts.append(f'<rect class="bar" data-count="{count}" data-low="{low:g}" data-high="{high:g}" '
                     f'x="{x + 3:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 6:.1f}" height="{h:.1f}">'
                     f"<title>{count} submission{'s' if count != 1 else ''} scored {span}</title></rect>")
        parts.append(f'<text class="count" x="{x + bar_w / 2:.1f}" y="{top + plot_h - h - 5:.1f}" '
                     f'text-anchor="middle">{count}</text>')
        parts.append(f'<text class="range" x="{x + bar_w / 2:.1f}" y="{top + plot_h + 16}" '
                     f'text-anchor="middle">{low:g}–{high:g}</text>')
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#333"/>'
                 f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#333"/>'
                 f'<text class="axis" x="{left + plot_w / 2:.1f}" y="{height - 14}" text-anchor="middle">'
                 f"total score (points out of {max_score:g})</text>"
                 f'<text class="axis" x="16" y="{top + plot_h / 2:.1f}" text-anchor="middle" '
                 f'transform="rotate(-90 16 {top + plot_h / 2:.1f})">submissions</text></svg>')
    return "".join(parts)


def _student_link(reports: str, name: str) -> str:
    return f'<a href="{href(reports, name, "report.html")}">{esc(name, 200)}</a>'


def _exercise_rows(students: list[Student], exercises) -> str:
    graded = [s for s in students if s.graded]
    rows = []
    for ex in exercises:
        counts = Counter(s.statuses.get(ex.id) for s in graded)
        passed = counts[PASS]
        rate = passed / len(graded) if graded else 0.0
        mean = sum(s.scores.get(ex.id, 0) for s in graded) / len(graded) if graded else 0.0
        rows.append(
            f'<tr class="exercise" data-exercise="{esc(ex.id)}" data-passed="{passed}" data-graded="{len(graded)}">'
            f"<td><b>{esc(ex.id)}</b><br><span class=\"note\">{esc(ex.title)}</span></td>"
            f'<td class="num">{passed}/{len(graded)}</td>'
            f'<td><span class="rate" title="{rate:.0%}"><span style="width:{rate * 100:.1f}%"></span></span> '
            f"{rate:.0%}</td>"
            + "".join(f'<td class="num">{counts[status]}</td>' for status in (FAIL, TODO, ERROR))
            + f'<td class="num">{len(students) - len(graded)}</td><td class="num">{mean:.2f}/{ex.points:g}</td></tr>')
    return ("<table><tr><th>exercise</th><th class=\"num\">passed/graded</th><th>pass rate</th>"
            "<th class=\"num\">fail</th><th class=\"num\">todo (not started)</th><th class=\"num\">error</th>"
            "<th class=\"num\">not graded</th><th class=\"num\">mean points</th></tr>" + "".join(rows) + "</table>")


def common_failures(students: list[Student], ident: str) -> list[tuple[str, int, str]]:
    """The first failures of an exercise by pattern, most common first: (pattern, students, an example)."""
    counts, examples = Counter(), {}
    for student in students:
        message = student.failures.get(ident)
        if message:
            pattern = normalise(message)
            counts[pattern] += 1
            examples.setdefault(pattern, message)
    return [(pattern, n, examples[pattern]) for pattern, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def _failure_rows(students: list[Student], exercises) -> str:
    rows = []
    for ex in exercises:
        found = common_failures(students, ex.id)
        failing = sum(n for _, n, _ in found)
        if not found:
            rows.append(f'<tr><td><b>{esc(ex.id)}</b></td><td class="num">0</td>'
                        '<td colspan="2" class="note">no submission failed a check of this exercise</td></tr>')
            continue
        pattern, n, example = found[0]
        others = "".join(f'<li><span class="count">{m}</span> × <code>{esc(_short(p, PATTERN_LIMIT))}</code></li>'
                         for p, m, _ in found[1:1 + OTHER_PATTERNS])
        more = len(found) - 1 - OTHER_PATTERNS
        details = (f"<details><summary>{len(found) - 1} other first failure(s)</summary><ul>{others}</ul>"
                   + (f'<p class="note">and {more} more</p>' if more > 0 else "") + "</details>") if others else ""
        rows.append(f'<tr class="failure" data-exercise="{esc(ex.id)}" data-count="{n}">'
                    f'<td><b>{esc(ex.id)}</b></td><td class="num">{n} of {failing}</td>'
                    f'<td class="msg"><span class="pattern">{esc(_short(pattern, PATTERN_LIMIT))}</span>{details}</td>'
                    f'<td class="msg example">{esc(_short(example, EXAMPLE_LIMIT))}</td></tr>')
    return ("<table><tr><th>exercise</th><th class=\"num\">students</th><th>most common first failure "
            "(normalised)</th><th>one of them, as it was</th></tr>" + "".join(rows) + "</table>")


def _flag_rows(students: list[Student], reports: str) -> str:
    rows = [f'<tr class="flagged"><td class="student">{_student_link(reports, s.name)}</td><td>{esc(ident)}</td>'
            f'<td class="flag">{esc(flag)}</td></tr>' for s in students for ident, flag in s.flags]
    if not rows:
        return '<p class="note" id="no-flags">No submission was flagged.</p>'
    return "<table><tr><th>student</th><th>exercise</th><th>flag</th></tr>" + "".join(rows) + "</table>"


def _student_rows(students: list[Student], exercises, reports: str) -> str:
    head = "".join(f"<th>{esc(ex.id)}</th>" for ex in exercises)
    rows = []
    for s in students:
        cells = "".join(f'<td class="status {_status_class(s.statuses[ex.id])}">{esc(s.statuses[ex.id])}'
                        f"{'' if s.statuses[ex.id] == NOT_GRADED else ' ' + _points(s.scores[ex.id])}</td>"
                        for ex in exercises)
        rows.append(f'<tr class="student" data-score="{_points(s.score)}"><td>{_student_link(reports, s.name)}</td>'
                    f'<td class="num">{_points(s.score)}/{_points(s.max_score)}</td>{cells}'
                    f'<td class="num">{len(s.flags)}</td><td class="err">{esc(s.error)}</td></tr>')
    return (f"<table><tr><th>student</th><th class=\"num\">score</th>{head}<th class=\"num\">flags</th>"
            "<th>gradebook error</th></tr>" + "".join(rows) + "</table>")


def _document(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="referrer" content="no-referrer">'
            f"<meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title>"
            f"<style>{CSS}</style></head>\n<body>\n{body}\n</body></html>\n")


def class_page(students: list[Student], exercises, *, reports: str, csv_name: str, done: int) -> str:
    """The whole class on one page. REPORTS: the folder of per-student pages, relative to the page."""
    max_score = float(sum(ex.points for ex in exercises))
    scores = sorted(s.score for s in students)
    median = (scores[len(scores) // 2] + scores[(len(scores) - 1) // 2]) / 2 if scores else 0.0
    mean = sum(scores) / len(scores) if scores else 0.0
    isolation = Counter(s.isolation for s in students if s.graded)
    errors = sum(bool(s.error) for s in students)
    banner = (f'<p class="banner">{done} of {len(students)} submissions graded: the gradebook is still running '
              f"or was interrupted; the others show as not graded.</p>" if done < len(students) else "")
    body = [
        f"<h1>proclab gradebook: {len(students)} submissions</h1>",
        f'<p class="note">Written {html.escape(time.strftime("%Y-%m-%d %H:%M:%S %Z"))} with '
        f'<a href="{href(csv_name)}">{esc(csv_name)}</a> (the grades). Mean {mean:.2f}, median {median:g} '
        f"of {max_score:g} points; {errors} submission(s) with a gradebook error. Isolation: "
        + (", ".join(f"{esc(mode or 'unknown')} ({n})" for mode, n in sorted(isolation.items())) or "none yet")
        + ".</p>",
        banner,
        '<h2 id="distribution">Score distribution</h2>',
        _histogram(students, max_score),
        '<p class="note">Each bar counts the submissions whose total lies from its lower bound up to (not '
        "including) its upper one; the last bar includes full marks.</p>",
        '<h2 id="exercises">Pass rate of each exercise</h2>',
        '<p class="note">passed/graded: the submissions that passed every check, of those the gradebook got a '
        "report for.</p>",
        _exercise_rows(students, exercises),
        '<h2 id="failures">Most common first failure of each exercise</h2>',
        '<p class="note">The first failing check of each submission that failed the exercise or made it an '
        "error, with numbers, paths and addresses replaced by &lt;n&gt;, &lt;path&gt; and &lt;hex&gt; so that "
        "the same mistake counts once.</p>",
        _failure_rows(students, exercises),
        '<h2 id="flagged">Flagged submissions</h2>',
        _flag_rows(students, reports),
        '<h2 id="students">Students</h2>',
        _student_rows(students, exercises, reports),
    ]
    return _document(f"proclab gradebook: {len(students)} submissions", "\n".join(body))


# A student's page.

def _read_tail(path: str) -> tuple[str, int]:
    """The end of a log file (never through a symbolic link), and its size."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        f.seek(max(0, size - LOG_READ_LIMIT))
        return f.read(LOG_READ_LIMIT).decode(errors="replace"), size


def _log_block(folder: str, relpath: str, caption: str) -> str:
    try:
        text, size = _read_tail(os.path.join(folder, relpath))
    except OSError as exc:
        return f"<h3>{caption}</h3><p class=\"note\">the log cannot be read ({esc(exc.strerror or exc)})</p>"
    lines = text.splitlines()
    cut = len(lines) > LOG_LINES or size > LOG_READ_LIMIT
    shown = "\n".join(html.escape(sanitize.text(line, LOG_LINE_LIMIT)) for line in lines[-LOG_LINES:])
    return (f'<h3>{caption}</h3><p class="note"><a href="{href(*relpath.split("/"))}">the whole log</a> '
            f"({size:,} bytes){'; its last lines:' if cut else ':'}</p><pre class=\"log\">{shown}</pre>")


_LOG = re.compile(r"logs(?:/[^/]+)+\.log")


def _kept_log(log) -> bool:
    """Whether a test's `log` is one the gradebook kept: logs/.../NAME.log inside the student's folder."""
    return isinstance(log, str) and bool(_LOG.fullmatch(log)) and not {".", ".."} & set(log.split("/"))


def student_page(name: str, row: dict, doc: dict | None, exercises, *, folder: str, class_href: str,
                 grading_log: str | None = None) -> str:
    """One submission: its table (exercise, status, score, first failure, flags) and the logs of its failing
    checks kept in FOLDER (a test's `log`, relative to FOLDER). CLASS_HREF: the class page, relative."""
    entries = {e["id"]: e for e in doc["exercises"]} if doc is not None else {}
    rows, logs = [], []
    for ex in exercises:
        entry = entries.get(ex.id)
        if entry is None:
            status = NOT_GRADED if doc is None else ERROR
            why = (row.get("error") or "") if doc is None else "the report has no entry for this exercise"
            rows.append(f'<tr><td><b>{esc(ex.id)}</b><br><span class="note">{esc(ex.title)}</span></td>'
                        f'<td class="status {_status_class(status)}">{status}</td>'
                        f'<td class="num">0/{ex.points:g}</td><td class="msg">{esc(why)}</td><td></td></tr>')
            continue
        status = entry.get("status") if isinstance(entry.get("status"), str) else ERROR
        flags = "".join(f"<div>{esc(flag)}</div>" for flag in entry_flags(entry))
        rows.append(f'<tr><td><b>{esc(ex.id)}</b><br><span class="note">{esc(ex.title)}</span></td>'
                    f'<td class="status {_status_class(status)}">{esc(status)}</td>'
                    f'<td class="num">{_points(entry.get("score"))}/{ex.points:g}</td>'
                    f'<td class="msg">{esc(first_failure(entry))}</td><td class="flag">{flags}</td></tr>')
        for test in _tests(entry):
            log = test.get("log")
            if test.get("status") != PASS and _kept_log(log):
                logs.append(_log_block(folder, log, f"{esc(ex.id)}: {esc(test.get('name'), 200)}"))
    crashed = doc.get("crashed") if doc is not None else None
    notes = []
    if row.get("error"):
        notes.append(f'<p class="banner">Gradebook error: {esc(row["error"])}</p>')
    if crashed:
        notes.append(f'<p class="banner">Grading did not finish: {esc(crashed)}</p>')
    if row.get("isolation"):
        notes.append(f'<p class="note">isolation: {esc(row["isolation"], 200)}</p>')
    if grading_log:
        logs.insert(0, _log_block(folder, grading_log, "the grading run's own output"))
    body = [f'<p><a href="{class_href}">← the class</a></p>',
            f"<h1>{esc(name, 200)}: {_points(row.get('score'))}/{_points(row.get('max_score'))}</h1>",
            *notes,
            "<table><tr><th>exercise</th><th>status</th><th class=\"num\">score</th><th>first failure</th>"
            "<th>flags</th></tr>" + "".join(rows) + "</table>",
            '<h2 id="logs">Logs of failing checks</h2>',
            *(logs or ['<p class="note">No failing check left a log (a log is kept when the code under test '
                       "printed something).</p>"])]
    return _document(f"{esc(name, 200)}: proclab report", "\n".join(body))


def write_atomic(path: str, text: str) -> None:
    """Write PATH whole or not at all: a temporary file in its folder (0600), renamed over it."""
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
