"""Reports of a finished grading document: the terminal table, .grade/report.json, JUnit XML, GitHub, Classroom,
Gradescope. Messages, flags and `crashed` come from student-influenced code: each goes through sanitize.text."""

import base64
import json
import os
import re
import shutil
import textwrap
from xml.etree import ElementTree as ET

from graders.harness import i18n, sanitize
from graders.harness.outcome import ERROR, FAIL, PASS, TODO

ISOLATION_MODES = ("separate-user", "same-user")  # their sentences are in i18n.py
DOC_FIELDS = ("score", "max_score", "isolation", "exercises", "crashed")
ENTRY_FIELDS = ("id", "topic", "title", "file", "status", "score", "max_score", "tests", "flags")
TEST_FIELDS = ("name", "status", "message", "duration", "log")
PAINT = {PASS: "32", FAIL: "31", TODO: "33", ERROR: "35", "flag": "1;31"}
# Classroom shares are multiples of 2**-36: such numbers below 2**17 add exactly in doubles, in any order.
GRID = 2.0 ** -36


def _text(value, limit: int = 2000) -> str:
    return "" if value is None else sanitize.text(value, limit)


def first_message(entry: dict) -> str:
    for test in entry["tests"]:
        if test["status"] != PASS:
            return _text(test.get("message"))
    return ""


def flags(entry: dict) -> list[str]:
    return [_text(flag, 500) for flag in entry.get("flags") or []]


def isolation(doc: dict) -> str:
    mode = doc.get("isolation")
    if mode is None:
        return ""
    return i18n.t(f"isolation.{mode}") if mode in ISOLATION_MODES else f"isolation: {_text(mode, 100)}"


def _fmt_points(value: float) -> str:
    return f"{value:g}"


def header() -> str:
    return (f"{i18n.pad(i18n.t('topic'), 12)} {i18n.pad(i18n.t('exercise'), 18)} "
            f"{i18n.pad(i18n.t('status'), 7)} {i18n.pad(i18n.t('points'), 7, right=True)}")


def entry_lines(entry: dict, colour: bool = False, width: int = 100) -> list[str]:
    """An exercise's line of the table, its first failure and its flags."""
    def paint(key: str, shown: str) -> str:
        return f"\x1b[{PAINT[key]}m{shown}\x1b[0m" if colour else shown

    status = entry["status"]
    points = f"{_fmt_points(entry['score'])}/{entry['max_score']}"
    lines = [f"{entry['topic']:<12} {entry['id']:<18} {paint(status, i18n.pad(i18n.status(status), 7))} "
             f"{points:>7}"]
    # The `|` gutter: the Actions runner takes a log line for a command when it starts with `::` after
    # its leading whitespace, and a wrapped message line could.
    lines += [f"    | {chunk}" for chunk in textwrap.wrap(first_message(entry), width=max(width - 6, 20))]
    lines += [paint("flag", "    " + i18n.t("flagged", flag=flag)) for flag in flags(entry)]
    return lines


def footer_lines(doc: dict) -> list[str]:
    lines = []
    if doc.get("crashed") is not None:
        lines.append(i18n.t("crashed", why=_text(doc["crashed"])))
    lines.append(i18n.t("score", score=_fmt_points(doc["score"]), max=doc["max_score"]))
    if isolation(doc):
        lines.append(isolation(doc))
    return lines


def table(doc: dict, colour: bool = False, width: int = 100) -> str:
    lines = [header()]
    for entry in doc["exercises"]:
        lines += entry_lines(entry, colour, width)
    return "\n".join(lines + footer_lines(doc))


def next_step(doc: dict, upcoming=None) -> str:
    """The first exercise of DOC that does not pass; when all pass, UPCOMING (the course's next
    unfinished exercise, if any)."""
    for entry in doc["exercises"]:
        if entry["status"] != PASS:
            return i18n.t("next", id=entry["id"], file=entry["file"], topic=entry["topic"])
    if upcoming is not None:
        return i18n.t("next_course", id=upcoming.id, file=upcoming.relpath, topic=upcoming.topic)
    return i18n.t("all_pass")


def clean(doc: dict) -> dict:
    """The document with exactly its designed fields, every message, flag and `crashed` sanitised."""
    out = {k: doc[k] for k in DOC_FIELDS if k in doc}
    if "crashed" in out:
        out["crashed"] = _text(out["crashed"])
    out["exercises"] = []
    for entry in doc["exercises"]:
        kept = {k: entry[k] for k in ENTRY_FIELDS if k in entry}
        if "flags" in kept:
            kept["flags"] = flags(entry)
        kept["tests"] = [{k: (_text(t[k]) if k == "message" else t[k]) for k in TEST_FIELDS if k in t}
                         for t in entry["tests"]]
        out["exercises"].append(kept)
    return out


def write_json(doc: dict, path: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(clean(doc), f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, path)


def _junit_verdict(test: dict, flagged: list[str]) -> tuple[str | None, str]:
    kind = {FAIL: "failure", ERROR: "error", TODO: "skipped"}.get(test["status"])
    if flagged and kind in (None, "skipped"):
        return "failure", _text("flagged: " + "; ".join(flagged))
    return kind, _text(test.get("message"))


def write_junit(doc: dict, path: str) -> None:
    suites = ET.Element("testsuites", name="proclab")
    for entry in doc["exercises"]:
        flagged = flags(entry)
        suite = ET.SubElement(suites, "testsuite", name=entry["id"], tests=str(len(entry["tests"])))
        for test in entry["tests"]:
            case = ET.SubElement(suite, "testcase", classname=entry["id"], name=test["name"],
                                 time=str(test.get("duration", 0)))
            kind, message = _junit_verdict(test, flagged)
            if kind:
                ET.SubElement(case, kind, message=message)
        if flagged:
            ET.SubElement(suite, "system-out").text = "\n".join(f"FLAGGED: {flag}" for flag in flagged)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)


def shares(points: float, n: int) -> list[float]:
    """`n` equal shares of `points` (each within 1e-11 of points / n), the last one taking up the rounding so
    that they sum to exactly `points`. The reporter sums them per runner from 0 and Classroom sums every
    runner's into one total; on the GRID both are exact for totals below 2**17 points."""
    if n == 0:
        return []
    share = round(points / n / GRID) * GRID
    return [share] * (n - 1) + [points - share * (n - 1)]


def classroom_results(entry: dict) -> dict:
    """One autograding-grading-reporter runner per exercise. Its log table shows passed/tests ×
    max_score while Classroom receives the sum of test scores (reporter issue #10): equal shares
    make both the same number. A flagged exercise earns nothing."""
    flagged = flags(entry)
    notes = [f"FLAGGED: {flag}" for flag in flagged]
    tests = []
    for test, share in zip(entry["tests"], shares(entry["max_score"], len(entry["tests"]))):
        passed = test["status"] == PASS and not flagged
        tests.append({
            "name": test["name"], "status": "pass" if passed else "fail",
            "message": _text("; ".join([*notes, _text(test.get("message"))])),
            "test_code": f"nox -s grade -- {entry['id']}",
            "filename": entry["file"], "line_no": 0, "execution_time": f"{test.get('duration', 0)}s",
            "score": share if passed else 0,
        })
    return {"version": 1, "status": "pass" if entry["status"] == PASS and not flagged else "fail",
            "max_score": entry["max_score"], "tests": tests}


def gradescope_results(doc: dict) -> dict:
    tests = []
    for entry in doc["exercises"]:
        flagged = flags(entry)
        output = "\n".join([first_message(entry) or "all checks passed", *(f"FLAGGED: {f}" for f in flagged)])
        tests.append({"name": f"{entry['topic']}/{entry['id']}", "score": entry["score"],
                      "max_score": entry["max_score"],
                      "status": "passed" if entry["status"] == PASS and not flagged else "failed",
                      "output": output})
    results = {"score": doc["score"], "output_format": "text", "test_output_format": "text", "tests": tests}
    if doc.get("crashed") is not None:
        results["output"] = f"Grading did not finish: {_text(doc['crashed'])}"
    return results


def _line_of(entry: dict, message: str) -> int:
    match = re.search(rf"{re.escape(os.path.basename(entry['file']))} line (\d{{1,7}})\b", message, re.ASCII)
    return int(match.group(1)) if match else 1


def annotations(doc: dict) -> list[str]:
    """`::error` workflow commands, one line each, escaped as actions/toolkit does."""
    lines = []
    for entry in doc["exercises"]:
        flagged = flags(entry)
        if entry["status"] not in (FAIL, ERROR) and not flagged:
            continue
        message = "; ".join([*(f"FLAGGED: {flag}" for flag in flagged), *filter(None, [first_message(entry)])])
        title = f"{entry['id']} {'flagged' if flagged else entry['status']}"
        lines.append(f"::error file={sanitize.workflow_property(entry['file'])},line={_line_of(entry, message)},"
                     f"title={sanitize.workflow_property(title)}::{sanitize.workflow_data(message)}")
    return lines


def summary(doc: dict) -> str:
    """The job summary: one Markdown table row per exercise, each cell shown literally."""
    cell = sanitize.markdown_cell
    rows = [f"| {cell(e['topic'])} | {cell(e['id'])} | {cell(e['status'])} | "
            f"{_fmt_points(e['score'])}/{e['max_score']} | {cell(first_message(e))} | "
            f"{cell('; '.join(flags(e)))} |" for e in doc["exercises"]]
    notes = [cell(line) for line in (isolation(doc),) if line]
    if doc.get("crashed") is not None:
        notes.append(cell(f"Grading did not finish: {_text(doc['crashed'])}"))
    return ("## proclab grade\n\n| topic | exercise | status | points | first failure | flags |\n"
            "|---|---|---|---|---|---|\n" + "\n".join(rows)
            + f"\n\n**Score: {_fmt_points(doc['score'])}/{doc['max_score']}**\n"
            + "".join(f"\n{note}\n" for note in notes))


def github(doc: dict) -> None:
    """Job summary, ::error annotations, and one Classroom output per exercise, when on Actions."""
    if os.environ.get("GITHUB_ACTIONS") != "true":
        return
    for line in annotations(doc):
        print(line)
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(summary(doc))
    path = os.environ.get("GITHUB_OUTPUT")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            for entry in doc["exercises"]:
                encoded = base64.b64encode(json.dumps(classroom_results(entry)).encode()).decode()
                f.write(f"{entry['id']}={encoded}\n")


def write_all(doc: dict, outdir: str) -> None:
    os.makedirs(outdir, exist_ok=True)
    doc = clean(doc)
    write_json(doc, os.path.join(outdir, "report.json"))  # first: it is the record every other output repeats
    write_junit(doc, os.path.join(outdir, "junit.xml"))
    with open(os.path.join(outdir, "gradescope.json"), "w", encoding="utf-8") as f:
        json.dump(gradescope_results(doc), f, indent=2, ensure_ascii=False)
    if os.path.isdir("/autograder/results"):
        shutil.copy(os.path.join(outdir, "gradescope.json"), "/autograder/results/results.json")
    github(doc)
