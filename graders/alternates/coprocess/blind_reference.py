"""Style: the plain correct program of one who saw only the stub and the README. The mutants they wrote are
patches of it, one bug each (graders/mutants/coprocess/*.patch): verify grades it as an alternate, so each patch is
exactly one bug away from a program that passes."""
import subprocess
import threading


def ask_all(argv, questions):
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def feed():
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

    t = threading.Thread(target=feed)
    t.start()

    answers = []
    while len(answers) < len(questions):
        line = p.stdout.readline()
        if not line.endswith(b"\n"):
            break
        answers.append(line[:-1].decode("utf-8"))

    p.stdout.close()
    t.join()
    rc = p.wait()
    if len(answers) < len(questions):
        raise ChildProcessError("the child ended before answering every question")
    return answers, rc
