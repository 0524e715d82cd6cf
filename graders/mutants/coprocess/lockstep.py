"""Bug: writes one question and waits for its answer before writing the next (lock-step), breaking "no deadlock, whatever the child's pace": a child that reads several questions before it answers waits for a question while the caller waits for an answer.
Talk to a child process through two pipes, line by line: a coprocess (协同进程)."""
import subprocess


def ask_all(argv, questions):
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    answers = []
    try:
        for q in questions:
            try:
                p.stdin.write(q.encode("utf-8") + b"\n")
                p.stdin.flush()
            except BrokenPipeError:
                break
            line = p.stdout.readline()
            if not line.endswith(b"\n"):
                break
            answers.append(line[:-1].decode("utf-8"))
    finally:
        try:
            p.stdin.close()
        except BrokenPipeError:
            pass
        p.stdout.close()
        rc = p.wait()
    if len(answers) < len(questions):
        raise ChildProcessError("the child ended before answering every question")
    return answers, rc
