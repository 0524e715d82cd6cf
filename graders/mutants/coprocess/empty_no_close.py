"""Bug: single-thread selectors version that closes the child's stdin only in the branch that writes the last bytes, so with no questions stdin is never closed before the wait, breaking "Right after the last question, the caller closes the child's stdin, so the child reads end-of-file" for questions=[] (deadlock).
Talk to a child process through two pipes, line by line: a coprocess (协同进程)."""
import os
import selectors
import subprocess


def ask_all(argv, questions):
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    wfd, rfd = p.stdin.fileno(), p.stdout.fileno()
    os.set_blocking(wfd, False)
    data = memoryview("".join(q + "\n" for q in questions).encode("utf-8"))
    sel = selectors.DefaultSelector()
    if data:
        sel.register(wfd, selectors.EVENT_WRITE)
    sel.register(rfd, selectors.EVENT_READ)
    answers, buf, eof = [], b"", False
    while len(answers) < len(questions) and not eof:
        for key, _ in sel.select():
            if key.fd == wfd:
                try:
                    data = data[os.write(wfd, data[:65536]):]
                except BrokenPipeError:
                    data = data[:0]
                if not data:
                    sel.unregister(wfd)
                    p.stdin.close()
            else:
                chunk = os.read(rfd, 65536)
                if not chunk:
                    eof = True
                    break
                buf += chunk
                *lines, buf = buf.split(b"\n")
                answers.extend(line.decode("utf-8") for line in lines)
    sel.close()
    p.stdout.close()
    rc = p.wait()
    try:
        p.stdin.close()
    except BrokenPipeError:
        pass
    if len(answers) < len(questions):
        raise ChildProcessError("the child ended before answering every question")
    return answers[:len(questions)], rc
