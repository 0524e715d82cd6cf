"""The reports (graders/harness/report.py) and sanitize.text, on small documents built by hand: whatever a
message, flag or `crashed` string holds, no output gains a line, a command, a row, markup or a colour."""

import base64
import json
import re
import time
import unicodedata
from xml.etree import ElementTree

import pytest

from graders.harness import report, sanitize

HUGE = ("::stop-commands::x\n\x1b[2J<!-- | ##[error]" * 500_000)[:20_000_000]
HOSTILE = {
    "newline": "ok\n::error::fake\nScore: 100/100",
    "carriage return": "ok\r::error::fake\r\n",
    "stop-commands": "::stop-commands::token",
    "notice": "::notice title=x::pwned",
    "legacy command": "text ##[error]legacy ###[add-mask]x",
    "leading space": "\u3000 ::error::fake",
    "ansi": "\x1b[2J\x1b[31mred\x1b]0;title\x07\x9b1m",
    "controls": "a\x00b\x0bc\x7fd\x85e",
    "bidi": "abc\u202edcba\u2066x",
    "line separators": "a\u2028b\u2029c",
    "surrogates": "x\ud800y\udfffz",
    "noncharacters": "a\ufffeb\uffffc",
    "comment": "<!-- never closed",
    "markdown": "x | y |\n|---|---|\n# Heading\n**Score: 100/100** [link](https://evil.example) "
                "![img](https://evil.example/i.png) `code` *em* _u_ ~~s~~ \\| $x$",
    "xml": "</testcase></testsuite><x a='1'>&amp;]]>",
    "chinese": "子进程没有被回收：退出状态 0",
    "huge": HUGE,
}
HIDDEN = {"Cc", "Cf", "Cs", "Zl", "Zp"}
OUR_SGR = {f"\x1b[{code}m" for code in report.PAINT.values()} | {"\x1b[0m"}


def entry(ident: str, status: str, message: str = "", flags=(), tests: int = 2, points: int = 10) -> dict:
    statuses = [status] + ["pass"] * (tests - 1)
    return {"id": ident, "topic": "signals", "title": ident.title(), "file": f"exercises/signals/{ident}.py",
            "status": status, "score": 0 if status != "pass" else points, "max_score": points,
            "tests": [{"name": f"test_{i}", "status": s, "message": message if s != "pass" else "",
                       "duration": 0.5} for i, s in enumerate(statuses)],
            "flags": list(flags)}


def hostile_doc(message: str, isolation: str = "separate-user") -> dict:
    return {"score": 10, "max_score": 40, "isolation": isolation, "crashed": message, "exercises": [
        entry("reaper", "fail", message),
        entry("bank", "pass", flags=[message]),
        entry("pipe_chain", "error", message, flags=["the submission read the grader's pipe", message]),
        entry("graceful", "pass"),
    ]}


def one_visible_line(value: str) -> bool:
    return not any(unicodedata.category(c) in HIDDEN or c in "\ufffe\uffff" for c in value)


def runner_command(line: str) -> tuple[str, dict, str] | None:
    """How the Actions runner (ActionCommand.TryParseV2) reads one line of the log, or None."""
    line = line.lstrip()
    if not line.startswith("::") or line.find("::", 2) < 0:
        return None
    end = line.find("::", 2)
    name, _, props = line[2:end].partition(" ")
    unescape = {"%0D": "\r", "%0A": "\n", "%3A": ":", "%2C": ",", "%25": "%"}
    pairs = (p.split("=", 1) for p in props.split(",") if "=" in p)
    properties = {k: re.sub("%0D|%0A|%3A|%2C|%25", lambda m: unescape[m[0]], v) for k, v in pairs}
    return name, properties, re.sub("%0D|%0A|%25", lambda m: unescape[m[0]], line[end + 2:])


def gfm_cells(row: str) -> list[str]:
    """The cells of a GFM table row: `|` splits unless backslash-escaped."""
    cells, current, chars = [], "", iter(row.strip()[1:])
    for c in chars:
        if c == "\\":
            current += c + next(chars, "")
        elif c == "|":
            cells.append(current)
            current = ""
        else:
            current += c
    return cells


# sanitize.text


@pytest.mark.parametrize("name", HOSTILE)
def test_text_is_one_visible_line_within_the_limit(name):
    shown = sanitize.text(HOSTILE[name])
    assert one_visible_line(shown) and len(shown) <= 2000
    assert "##[" not in shown and "\x1b" not in shown
    assert runner_command(f"    {shown}") is None  # safe at the start of a line, too
    shown.encode("utf-8")  # no lone surrogate left


def test_text_escapes_controls_visibly_and_keeps_ordinary_text():
    assert sanitize.text("a\nb\r\tc\x1b[2J\x00\u202e\u2028\ufeff\U000e0041") == \
        "a\\nb\\r\\tc\\x1b[2J\\x00\\u202e\\u2028\\ufeff\\U000e0041"
    assert sanitize.text("子进程没有被回收 café ✓ 🚀") == "子进程没有被回收 café ✓ 🚀"
    assert sanitize.text("x\ud800y") == "x\ufffdy"
    assert sanitize.text("a\ufffe") == "a\\ufffe"


def test_text_accepts_anything():
    assert sanitize.text(b"ok \xff\n") == "ok \ufffd\\n"
    assert sanitize.text(12) == "12"
    assert sanitize.text(ValueError("bad\nthing")) == "bad\\nthing"


@pytest.mark.parametrize("limit", [1, 10, 50, 89, 90, 200, 2000])
@pytest.mark.parametrize("value", ["x" * 3000, "\x1b" * 3000, "中" * 3000, "a\x00" * 1500])
def test_text_cuts_at_the_limit_and_says_how_much_is_missing(value, limit):
    shown = sanitize.text(value, limit)
    assert len(shown) <= limit
    if limit >= 200:
        head, _, tail = shown.partition(" … [cut: ")
        missing = int(tail.split(" ")[0].replace(",", ""))
        assert tail.endswith("the whole output is in .grade/logs/]")
        assert len(value) - missing == len(re.findall(r"\\x..|.", head))  # kept + missing = all


def test_text_that_fits_is_not_cut():
    assert sanitize.text("x" * 2000) == "x" * 2000
    assert "cut" in sanitize.text("x" * 2001)
    assert "cut" in sanitize.text("\n" * 1001)  # 2002 characters once escaped


def test_text_time_is_linear():
    started = time.perf_counter()
    for value in (HUGE, HUGE.encode(), "\x00" * 20_000_000):
        assert len(sanitize.text(value)) <= 2000
    assert time.perf_counter() - started < 1


def test_a_command_never_starts_the_text():
    assert sanitize.text("::stop-commands::x") == "\\x3a:stop-commands::x"
    assert sanitize.text(" \u3000::error::x") == " \u3000\\x3a:error::x"
    assert sanitize.text("a ::b::") == "a ::b::"


def test_legacy_command_prefix_never_survives():
    for value in ("##[error]x", "###[error]x", "##[##[", "a##[", "#" * 50 + "["):
        assert "##[" not in sanitize.text(value)
    assert "##[" not in sanitize.text("y" * 1998 + "##[error]x")


def test_markdown_cell_shows_everything_literally():
    cell = sanitize.markdown_cell("<!-- | a\\b `c` *d* _e_ [f](g) ![h](i) #j ~k~ & https://x.example")
    assert "<" not in cell and ">" not in cell and "&amp;" in cell and "&lt;\\!\\-\\-" in cell
    assert len(gfm_cells(f"| {cell} |")) == 1
    for mark in "|`*_[]()!#~\\:":
        assert f"\\{mark}" in cell


def test_workflow_escapes_follow_actions_toolkit():
    assert sanitize.workflow_data("50% done: a,b") == "50%25 done: a,b"
    assert sanitize.workflow_property("50% done: a,b") == "50%25 done%3A a%2Cb"
    assert "\n" not in sanitize.workflow_data("a\nb") and "\r" not in sanitize.workflow_property("a\rb")


# the terminal table


@pytest.mark.parametrize("name", HOSTILE)
def test_table_has_no_foreign_lines_or_escapes(name):
    doc = hostile_doc(HOSTILE[name])
    for colour in (False, True):
        shown = report.table(doc, colour=colour, width=60)
        lines = shown.split("\n")
        assert all(runner_command(line) is None and "##[" not in line for line in lines)
        assert [line for line in lines if line.startswith("Score:")] == ["Score: 10/40"]
        assert lines[-1] == "isolation: separate-user (your code ran as its own user)"
        assert all(one_visible_line(re.sub(r"\x1b\[[0-9;]*m", "", line)) for line in lines)
        codes = re.findall(r"\x1b\[[0-9;]*m", shown)
        assert set(codes) <= OUR_SGR and shown.count("\x1b") == len(codes)
        assert bool(codes) == colour


def test_table_shows_flags_messages_and_isolation():
    doc = hostile_doc("the child was never reaped", isolation="same-user")
    shown = report.table(doc)
    assert "    | the child was never reaped" in shown
    assert shown.count("    FLAGGED: the child was never reaped") == 2
    assert "    FLAGGED: the submission read the grader's pipe" in shown
    assert shown.endswith("isolation: same-user (your code ran as you: on your own machine the grader cannot be "
                          "protected from it; CI and the gradebook grade as a separate user)")
    assert "Grading did not finish: the child was never reaped" in shown
    painted = report.table(doc, colour=True)
    assert "\x1b[1;31m    FLAGGED: the submission read the grader's pipe\x1b[0m" in painted


def test_table_without_isolation_or_flags_still_renders():
    doc = {"score": 10, "max_score": 10, "exercises": [entry("reaper", "pass", tests=1)]}
    for e in doc["exercises"]:
        del e["flags"]
    assert report.table(doc).split("\n")[-1] == "Score: 10/10"
    assert report.next_step(doc) == "Every selected exercise passes."


# GitHub Actions: annotations, step summary, Classroom outputs


def run_github(doc, tmp_path, monkeypatch, capsys):
    summary, outputs = tmp_path / "summary.md", tmp_path / "outputs"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    report.github(doc)
    return capsys.readouterr().out, summary.read_text(encoding="utf-8"), outputs.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", HOSTILE)
def test_annotations_are_one_command_each(name, tmp_path, monkeypatch, capsys):
    out, _, _ = run_github(hostile_doc(HOSTILE[name]), tmp_path, monkeypatch, capsys)
    lines = out.splitlines()
    assert len(lines) == 3  # reaper fails, bank is flagged, pipe_chain errs
    assert "\r" not in out and "##[" not in out
    for line, ident in zip(lines, ("reaper", "bank", "pipe_chain")):
        assert line.startswith(f"::error file=exercises/signals/{ident}.py,line=")
        command, properties, data = runner_command(line)
        assert command == "error" and set(properties) == {"file", "line", "title"}
        assert properties["file"] == f"exercises/signals/{ident}.py" and properties["title"].startswith(ident)
        assert one_visible_line(data) and len(data) < 2000 * 3


@pytest.mark.parametrize("name", HOSTILE)
def test_summary_is_one_table_with_a_row_per_exercise(name, tmp_path, monkeypatch, capsys):
    _, summary, _ = run_github(hostile_doc(HOSTILE[name]), tmp_path, monkeypatch, capsys)
    lines = summary.split("\n")
    rows = [line for line in lines if line.startswith("|")]
    assert rows[0] == "| topic | exercise | status | points | first failure | flags |"
    assert rows[1] == "|---|---|---|---|---|---|" and len(rows) == 2 + 4
    assert all(len(gfm_cells(row)) == 6 for row in rows)
    assert "<" not in summary and ">" not in summary
    assert [line for line in lines if line.startswith("#")] == ["## proclab grade"]
    assert summary.count("Score:") == 1 and "**Score: 10/40**" in summary
    for row in rows[2:]:  # once escapes and entities are read, no markup is left in the message and flags
        for shown in gfm_cells(row)[4:]:
            assert not re.search(r"[!-/:-@\[-`{-~]", re.sub(r"\\[!-/:-@\[-`{-~]|&(amp|lt|gt);", "", shown))
    assert "isolation\\: separate\\-user" in summary


@pytest.mark.parametrize("name", HOSTILE)
def test_classroom_outputs_are_one_line_per_exercise(name, tmp_path, monkeypatch, capsys):
    _, _, outputs = run_github(hostile_doc(HOSTILE[name]), tmp_path, monkeypatch, capsys)
    lines = outputs.splitlines()
    assert [line.partition("=")[0] for line in lines] == ["reaper", "bank", "pipe_chain", "graceful"]
    results = [json.loads(base64.b64decode(line.partition("=")[2])) for line in lines]
    for result in results:
        for test in result["tests"]:
            assert one_visible_line(test["message"]) and "##[" not in test["message"]
    assert [r["status"] for r in results] == ["fail", "fail", "fail", "pass"]  # bank is flagged
    assert sum(t["score"] for t in results[1]["tests"]) == 0


def test_nothing_is_printed_off_actions(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    report.github(hostile_doc("::error::x"))
    assert capsys.readouterr().out == "" and not (tmp_path / "summary.md").exists()


def test_annotation_line_comes_from_the_message():
    doc = hostile_doc("reaper.py line 12: the child was not reaped")
    assert ",line=12," in report.annotations(doc)[0]
    assert ",line=1," in report.annotations(hostile_doc("reaper.py line " + "9" * 5000))[0]


# Classroom scores


def test_classroom_shares_sum_exactly_to_the_points():
    total, expected = 0, 0
    for n in range(1, 41):
        for points in range(1, 51):
            result = report.classroom_results(entry("reaper", "pass", tests=n, points=points))
            scores = [t["score"] for t in result["tests"]]
            assert all(abs(s - points / n) < 1e-9 for s in scores)
            summed = 0
            for score in scores:  # as the reporter does: left to right from 0
                summed += score
            assert summed == points
            for passed in range(n + 1):  # the log's passed/tests × max_score agrees with the sum
                assert abs(sum(scores[:passed]) - passed / n * points) < 1e-9
            for score in scores:  # as Classroom does: one running total over every runner
                total += score
            expected += points
    assert total == expected


def test_classroom_partial_scores_follow_the_test_statuses():
    doc_entry = entry("reaper", "fail", "no", tests=9, points=10)
    result = report.classroom_results(doc_entry)
    assert [t["status"] for t in result["tests"]] == ["fail"] + ["pass"] * 8
    assert result["tests"][0]["score"] == 0 and abs(sum(t["score"] for t in result["tests"]) - 80 / 9) < 1e-9
    assert result["status"] == "fail" and result["max_score"] == 10


# files: report.json, junit.xml, gradescope.json


@pytest.mark.parametrize("name", HOSTILE)
def test_files_are_valid_whatever_the_message(name, tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    report.write_all(hostile_doc(HOSTILE[name]), str(tmp_path))
    raw = (tmp_path / "report.json").read_bytes()
    assert len(raw) < 50_000
    doc = json.loads(raw.decode("utf-8"))
    assert set(doc) == {"score", "max_score", "isolation", "exercises", "crashed"}
    assert one_visible_line(doc["crashed"])
    for e in doc["exercises"]:
        assert set(e) == {"id", "topic", "title", "file", "status", "score", "max_score", "tests", "flags"}
        assert all(one_visible_line(t["message"]) for t in e["tests"]) and all(map(one_visible_line, e["flags"]))

    suites = ElementTree.parse(tmp_path / "junit.xml").getroot()
    assert [s.get("name") for s in suites] == ["reaper", "bank", "pipe_chain", "graceful"]
    assert [len(s.findall("testcase")) for s in suites] == [2, 2, 2, 2]
    for suite in suites[1:3]:  # flagged: every test fails, the flags are in system-out
        assert all(case.find("failure") is not None or case.find("error") is not None
                   for case in suite.iter("testcase"))
        assert suite.find("system-out").text.startswith("FLAGGED: ")
    assert all(case.find("failure") is None for case in suites[3].iter("testcase"))
    assert suites[0].find("system-out") is None

    gradescope = json.loads((tmp_path / "gradescope.json").read_text(encoding="utf-8"))
    outputs = [t["output"] for t in gradescope["tests"]]
    assert "FLAGGED: " in outputs[1] and "FLAGGED: the submission read the grader's pipe" in outputs[2]
    assert [t["status"] for t in gradescope["tests"]] == ["failed", "failed", "failed", "passed"]
    assert all(one_visible_line(line) for output in outputs for line in output.split("\n"))


def test_report_json_keeps_exactly_the_designed_fields(tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    doc = hostile_doc("x")
    del doc["crashed"]
    doc["extra"] = 1
    doc["exercises"][0]["extra"] = 2
    doc["exercises"][0]["tests"][0].update(extra=3, log=".grade/logs/reaper.log")
    report.write_all(doc, str(tmp_path))
    written = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert set(written) == {"score", "max_score", "isolation", "exercises"}
    assert "extra" not in written["exercises"][0]
    assert written["exercises"][0]["tests"][0] == {"name": "test_0", "status": "fail", "message": "x",
                                                   "duration": 0.5, "log": ".grade/logs/reaper.log"}


def test_a_twenty_megabyte_message_renders_everything_quickly(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "outputs"))
    doc = hostile_doc(HUGE)
    doc["exercises"].append(entry("huge_bytes", "fail", HUGE.encode()))
    started = time.perf_counter()
    shown = report.table(doc, colour=True)
    report.write_all(doc, str(tmp_path / "out"))
    elapsed = time.perf_counter() - started
    capsys.readouterr()
    assert elapsed < 2, elapsed
    assert len(shown) < 50_000 and (tmp_path / "out" / "report.json").stat().st_size < 50_000
    assert re.search(r"cut: 19,\d{3},\d{3} more characters", shown)
