"""Bug: fork+exec version that makes the pipe ends inheritable and, in the child, dup2s without closing the originals, so the exec'd child keeps extra copies of both pipes (fds 3..6), breaking "the child gets no other copy of either pipe (only fd 0, 1 and 2)" (its own copy of the questions' write end also keeps it from ever reading end-of-file).
Talk to a child process through two pipes, line by line: a coprocess (协同进程)."""
import os
import threading


def ask_all(argv, questions):
    ra, wa = os.pipe()   # questions: caller writes wa, child reads ra
    rb, wb = os.pipe()   # answers: child writes wb, caller reads rb
    for fd in (ra, wa, rb, wb):
        os.set_inheritable(fd, True)   # so that the child can use them
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(ra, 0)
            os.dup2(wb, 1)
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    os.close(ra)
    os.close(wb)

    def feed():
        try:
            for q in questions:
                data = (q + "\n").encode("utf-8")
                while data:
                    data = data[os.write(wa, data):]
        except BrokenPipeError:
            pass
        finally:
            os.close(wa)

    t = threading.Thread(target=feed)
    t.start()
    answers = []
    with os.fdopen(rb, "rb") as out:
        while len(answers) < len(questions):
            line = out.readline()
            if not line.endswith(b"\n"):
                break
            answers.append(line[:-1].decode("utf-8"))
    t.join()
    _, status = os.waitpid(pid, 0)
    if len(answers) < len(questions):
        raise ChildProcessError("the child ended before answering every question")
    return answers, os.waitstatus_to_exitcode(status)
