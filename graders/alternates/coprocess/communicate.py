"""Style: let the standard library do the concurrent writing and reading: Popen.communicate()
with every question as one bytes input (it writes and reads at the same time, closes stdin after
the input, ignores EPIPE, and waits), then cut the output at b"
" only."""

import subprocess


def ask_all(argv: list[str], questions: list[str]) -> tuple[list[str], int]:
    with subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as p:
        out, _ = p.communicate(b"".join(q.encode("utf-8") + b"\n" for q in questions))
    *lines, _partial = out.split(b"\n")      # complete lines only
    if len(lines) < len(questions):
        raise ChildProcessError(f"the child answered {len(lines)} of {len(questions)} questions")
    return [line.decode("utf-8") for line in lines[:len(questions)]], p.returncode
