"""Style: the roles swapped: the calling thread writes the questions (and closes stdin), a
reader thread collects the answer lines from the buffered bytes reader; both joined."""

import subprocess
import threading


def ask_all(argv: list[str], questions: list[str]) -> tuple[list[str], int]:
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    answers: list[str] = []

    def collect() -> None:
        for raw in iter(p.stdout.readline, b""):
            if not raw.endswith(b"\n") or len(answers) == len(questions):
                break
            answers.append(raw[:-1].decode("utf-8"))

    reader = threading.Thread(target=collect, name="coprocess-reader")
    reader.start()
    try:
        for q in questions:
            p.stdin.write(q.encode("utf-8") + b"\n")
            p.stdin.flush()
    except BrokenPipeError:
        pass
    finally:
        try:
            p.stdin.close()
        except BrokenPipeError:
            pass
        reader.join()
        p.stdout.close()
        rc = p.wait()
    if len(answers) < len(questions):
        raise ChildProcessError(f"the child answered {len(answers)} of {len(questions)} questions")
    return answers, rc
