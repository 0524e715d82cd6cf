"""Style: one thread, no helper thread at all: subprocess.Popen for the child, then a selectors
loop that writes into the non-blocking questions pipe when it has room and reads the answers pipe
when it has data, cutting lines out of a bytes buffer by hand."""

import os
import selectors
import subprocess


def ask_all(argv: list[str], questions: list[str]) -> tuple[list[str], int]:
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    wfd, rfd = p.stdin.fileno(), p.stdout.fileno()
    os.set_blocking(wfd, False)
    todo = memoryview(b"".join(q.encode("utf-8") + b"\n" for q in questions))
    sel = selectors.DefaultSelector()
    answers: list[str] = []
    buf = b""
    try:
        if todo:
            sel.register(wfd, selectors.EVENT_WRITE)
        else:
            p.stdin.close()            # nothing to ask: end-of-file at once
        sel.register(rfd, selectors.EVENT_READ)
        while sel.get_map():
            for key, _ in sel.select():
                if key.fd == wfd:
                    try:
                        todo = todo[os.write(wfd, todo[:65536]):]
                    except BrokenPipeError:
                        todo = todo[:0]    # the child is gone: stop writing
                    if not todo:
                        sel.unregister(wfd)
                        p.stdin.close()    # right after the last question
                else:
                    chunk = os.read(rfd, 65536)
                    if not chunk:
                        sel.unregister(rfd)
                        continue
                    buf += chunk
                    *lines, buf = buf.split(b"\n")
                    answers.extend(line.decode("utf-8") for line in lines)
                    if len(answers) >= len(questions) and not todo:
                        sel.unregister(rfd)
    finally:
        sel.close()
        try:
            p.stdin.close()
        except BrokenPipeError:
            pass
        p.stdout.close()
        rc = p.wait()
    if len(answers) < len(questions):
        raise ChildProcessError(f"the child answered {len(answers)} of {len(questions)} questions")
    return answers[:len(questions)], rc
