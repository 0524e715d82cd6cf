"""Style: os.posix_spawnp with file actions (dup2 the pipe ends onto fd 0 and 1) instead of
fork/exec or subprocess, and a single-thread select.poll loop over the raw fds."""

import os
import select


def ask_all(argv: list[str], questions: list[str]) -> tuple[list[str], int]:
    q_read, q_write = os.pipe()
    a_read, a_write = os.pipe()
    try:
        pid = os.posix_spawnp(argv[0], argv, os.environ, file_actions=[
            (os.POSIX_SPAWN_DUP2, q_read, 0),
            (os.POSIX_SPAWN_DUP2, a_write, 1),
        ])
    except BaseException:
        for fd in (q_read, q_write, a_read, a_write):
            os.close(fd)
        raise
    os.close(q_read)
    os.close(a_write)
    os.set_blocking(q_write, False)
    todo = memoryview(b"".join(q.encode("utf-8") + b"\n" for q in questions))
    answers: list[str] = []
    buf = b""
    poller = select.poll()
    wopen = True
    try:
        if todo:
            poller.register(q_write, select.POLLOUT)
        else:
            os.close(q_write)
            wopen = False
        poller.register(a_read, select.POLLIN)
        reading = True
        while reading or wopen:
            for fd, ev in poller.poll():
                if fd == q_write:
                    try:
                        todo = todo[os.write(q_write, todo[:65536]):]
                    except BrokenPipeError:
                        todo = todo[:0]
                    if not todo:
                        poller.unregister(q_write)
                        os.close(q_write)
                        wopen = False
                else:
                    chunk = os.read(a_read, 65536)
                    if chunk:
                        buf += chunk
                        *lines, buf = buf.split(b"\n")
                        answers.extend(line.decode("utf-8") for line in lines)
                    if not chunk or (len(answers) >= len(questions) and not wopen):
                        poller.unregister(a_read)
                        reading = False
                        if wopen and not chunk:   # the child's stdout is gone: stop asking
                            poller.unregister(q_write)
                            os.close(q_write)
                            wopen = False
    finally:
        if wopen:
            os.close(q_write)
        os.close(a_read)
        _, status = os.waitpid(pid, 0)
    if len(answers) < len(questions):
        raise ChildProcessError(f"the child answered {len(answers)} of {len(questions)} questions")
    return answers[:len(questions)], os.waitstatus_to_exitcode(status)
