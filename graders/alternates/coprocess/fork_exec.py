"""Style: the system calls by hand: os.pipe, os.fork, os.dup2, os.execvp in the child; in the
parent a writer thread on the raw fd (os.write) and a reader with a bytes buffer over os.read;
os.waitpid and os.waitstatus_to_exitcode at the end."""

import os
import threading


def ask_all(argv: list[str], questions: list[str]) -> tuple[list[str], int]:
    q_read, q_write = os.pipe()      # questions: caller -> child's fd 0
    a_read, a_write = os.pipe()      # answers: child's fd 1 -> caller
    pid = os.fork()
    if pid == 0:                     # child: never returns into the caller's code
        try:
            os.dup2(q_read, 0)
            os.dup2(a_write, 1)
            os.execvp(argv[0], argv)  # every other pipe end is close-on-exec
        finally:
            os._exit(127)
    os.close(q_read)                 # the child's ends: at once
    os.close(a_write)

    def feed() -> None:
        try:
            for q in questions:
                data = memoryview(q.encode("utf-8") + b"\n")
                while data:
                    data = data[os.write(q_write, data):]
        except BrokenPipeError:
            pass                     # the child has exited: stop writing
        finally:
            os.close(q_write)        # end-of-file for the child

    writer = threading.Thread(target=feed, name="coprocess-writer")
    writer.start()
    answers: list[str] = []
    buf = b""
    try:
        while len(answers) < len(questions):
            chunk = os.read(a_read, 65536)
            if not chunk:
                break
            buf += chunk
            *lines, buf = buf.split(b"\n")
            answers.extend(line.decode("utf-8") for line in lines)
    finally:
        os.close(a_read)
        writer.join()
        _, status = os.waitpid(pid, 0)
    if len(answers) < len(questions):
        raise ChildProcessError(f"the child answered {len(answers)} of {len(questions)} questions")
    return answers[:len(questions)], os.waitstatus_to_exitcode(status)
