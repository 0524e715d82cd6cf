"""Scores and reports: the terminal table, .grade/report.json, JUnit XML, GitHub, Classroom, Gradescope."""

import base64
import json
import os
import re
import shutil
import textwrap
from xml.etree import ElementTree as ET

from graders.harness.outcome import ERROR, FAIL, PASS, TODO


def first_message(entry: dict) -> str:
    for test in entry["tests"]:
        if test["status"] != PASS:
            return test.get("message", "")
    return ""


def _fmt_points(value: float) -> str:
    return f"{value:g}"


def table(doc: dict, colour: bool = False, width: int = 100) -> str:
    paint = {PASS: "32", FAIL: "31", TODO: "33", ERROR: "35"}
    lines = [f"{'topic':<12} {'exercise':<18} {'status':<7} {'points':>7}"]
    for entry in doc["exercises"]:
        status = entry["status"]
        shown = f"\x1b[{paint[status]}m{status:<7}\x1b[0m" if colour else f"{status:<7}"
        points = f"{_fmt_points(entry['score'])}/{entry['max_score']}"
        lines.append(f"{entry['topic']:<12} {entry['id']:<18} {shown} {points:>7}")
        message = first_message(entry)
        if message:
            lines += textwrap.wrap(message, width=width, initial_indent="    ", subsequent_indent="    ")
    lines.append(f"Score: {_fmt_points(doc['score'])}/{doc['max_score']}")
    return "\n".join(lines)


def next_step(doc: dict) -> str:
    for entry in doc["exercises"]:
        if entry["status"] != PASS:
            return (f"Next: {entry['id']} ({entry['file']}). Read exercises/{entry['topic']}/README.md; "
                    f"`nox -s hint -- {entry['id']}` gives a hint, `nox -s grade -- {entry['id']}` grades it alone.")
    return "Every selected exercise passes."


def write_json(doc: dict, path: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")
    os.replace(tmp, path)


def write_junit(doc: dict, path: str) -> None:
    suites = ET.Element("testsuites", name="proclab")
    for entry in doc["exercises"]:
        suite = ET.SubElement(suites, "testsuite", name=entry["id"], tests=str(len(entry["tests"])))
        for test in entry["tests"]:
            case = ET.SubElement(suite, "testcase", classname=entry["id"], name=test["name"],
                                 time=str(test.get("duration", 0)))
            kind = {FAIL: "failure", ERROR: "error", TODO: "skipped"}.get(test["status"])
            if kind:
                ET.SubElement(case, kind, message=test.get("message", ""))
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)


def classroom_results(entry: dict) -> dict:
    """One autograding-grading-reporter runner per exercise. Its log table shows passed/tests ×
    max_score while Classroom receives the sum of test scores (reporter issue #10): equal shares
    make both the same number."""
    share = entry["max_score"] / len(entry["tests"])
    tests = [{
        "name": t["name"], "status": "pass" if t["status"] == PASS else "fail",
        "message": t.get("message", ""), "test_code": f"nox -s grade -- {entry['id']}",
        "filename": entry["file"], "line_no": 0, "execution_time": f"{t.get('duration', 0)}s",
        "score": share if t["status"] == PASS else 0,
    } for t in entry["tests"]]
    return {"version": 1, "status": "pass" if entry["status"] == PASS else "fail",
            "max_score": entry["max_score"], "tests": tests}


def gradescope_results(doc: dict) -> dict:
    tests = []
    for entry in doc["exercises"]:
        tests.append({"name": f"{entry['topic']}/{entry['id']}", "score": entry["score"],
                      "max_score": entry["max_score"], "status": "passed" if entry["status"] == PASS else "failed",
                      "output": first_message(entry) or "all checks passed"})
    return {"score": doc["score"], "tests": tests}


def _line_of(entry: dict, message: str) -> int:
    match = re.search(rf"{re.escape(os.path.basename(entry['file']))} line (\d+)", message)
    return int(match.group(1)) if match else 1


def github(doc: dict) -> None:
    """Job summary, ::error annotations, and one Classroom output per exercise, when on Actions."""
    if os.environ.get("GITHUB_ACTIONS") != "true":
        return
    for entry in doc["exercises"]:
        if entry["status"] in (FAIL, ERROR):
            message = first_message(entry).replace("%", "%25").replace("\n", "%0A")
            print(f"::error file={entry['file']},line={_line_of(entry, message)},"
                  f"title={entry['id']} {entry['status']}::{message}")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        rows = [f"| {e['topic']} | {e['id']} | {e['status']} | {_fmt_points(e['score'])}/{e['max_score']} | "
                f"{first_message(e).replace('|', '/')} |" for e in doc["exercises"]]
        with open(summary, "a") as f:
            f.write("## proclab grade\n\n| topic | exercise | status | points | first failure |\n"
                    "|---|---|---|---|---|\n" + "\n".join(rows)
                    + f"\n\n**Score: {_fmt_points(doc['score'])}/{doc['max_score']}**\n")
    outputs = os.environ.get("GITHUB_OUTPUT")
    if outputs:
        with open(outputs, "a") as f:
            for entry in doc["exercises"]:
                encoded = base64.b64encode(json.dumps(classroom_results(entry)).encode()).decode()
                f.write(f"{entry['id']}={encoded}\n")


def write_all(doc: dict, outdir: str) -> None:
    os.makedirs(outdir, exist_ok=True)
    write_json(doc, os.path.join(outdir, "report.json"))
    write_junit(doc, os.path.join(outdir, "junit.xml"))
    with open(os.path.join(outdir, "gradescope.json"), "w") as f:
        json.dump(gradescope_results(doc), f, indent=2, ensure_ascii=False)
    if os.path.isdir("/autograder/results"):
        shutil.copy(os.path.join(outdir, "gradescope.json"), "/autograder/results/results.json")
    github(doc)
