"""Bug: single-thread selectors version that keeps the questions as a str and, after a partial non-blocking os.write of n bytes, drops n characters (text[n:]), breaking "send each question as one line" / the answers in order: with non-ASCII questions and more than a pipe-full of them, bytes are skipped and questions garbled.
Talk to a child process through two pipes, line by line: a coprocess (协同进程)."""
import os
import selectors
import subprocess


def ask_all(argv, questions):
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    wfd, rfd = p.stdin.fileno(), p.stdout.fileno()
    os.set_blocking(wfd, False)
    text = "".join(q + "\n" for q in questions)
    sel = selectors.DefaultSelector()
    sel.register(wfd, selectors.EVENT_WRITE)
    sel.register(rfd, selectors.EVENT_READ)
    writing = True
    answers, buf, eof = [], b"", False
    while not eof:
        for key, _ in sel.select():
            if key.fd == wfd:
                try:
                    n = os.write(wfd, text.encode("utf-8"))
                    text = text[n:]
                except BrokenPipeError:
                    text = ""
                if not text:
                    sel.unregister(wfd)
                    p.stdin.close()
                    writing = False
            else:
                chunk = os.read(rfd, 65536)
                if not chunk:
                    eof = True
                    break
                buf += chunk
                *lines, buf = buf.split(b"\n")
                answers.extend(line.decode("utf-8", errors="replace") for line in lines)
    sel.close()
    if writing:
        try:
            p.stdin.close()
        except BrokenPipeError:
            pass
    p.stdout.close()
    rc = p.wait()
    if len(answers) < len(questions):
        raise ChildProcessError("the child ended before answering every question")
    return answers[:len(questions)], rc
