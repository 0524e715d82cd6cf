"""Bug: writes from the calling thread (a reader thread collects answers) and lets BrokenPipeError escape from ask_all, breaking "If the child's stdout ends before every question has its answer ... ask_all raises ChildProcessError" and "Writing into the pipe of a child that has exited fails with EPIPE: that is no error of its own".
Talk to a child process through two pipes, line by line: a coprocess (协同进程)."""
import subprocess
import threading


def ask_all(argv, questions):
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    answers = []

    def collect():
        while len(answers) < len(questions):
            line = p.stdout.readline()
            if not line.endswith(b"\n"):
                break
            answers.append(line[:-1].decode("utf-8"))

    t = threading.Thread(target=collect)
    t.start()
    try:
        for q in questions:
            p.stdin.write(q.encode("utf-8") + b"\n")
            p.stdin.flush()
        p.stdin.close()
    finally:
        t.join()
        p.stdout.close()
        try:
            p.stdin.close()
        except BrokenPipeError:
            pass
        rc = p.wait()
    if len(answers) < len(questions):
        raise ChildProcessError("the child ended before answering every question")
    return answers, rc
