"""Talk to a child process through two pipes, line by line: a coprocess (协同进程).

ask_all(argv, questions) -> (answers, returncode)

The child (argv, started by exec, no shell) reads questions on its stdin and writes one answer
line per question on its stdout, at its own pace. ask_all writes the questions from a thread while
it reads the answers through a buffered reader, so neither side can wait for the other forever;
it closes the child's stdin after the last question, then reaps the child. If the child's output
ends before every question has its answer, it raises ChildProcessError.
"""

import subprocess
import threading


def ask_all(argv: list[str], questions: list[str]) -> tuple[list[str], int]:
    # Two pipes: one for the questions (child's stdin), one for the answers (child's stdout).
    # Popen forks, puts the child's ends on fd 0 and fd 1, execs argv, and closes the parent's
    # copies of the child's ends. In binary mode, its stdin and stdout are buffered byte streams:
    # a line ends at b"\n" and nowhere else (text mode would also end one at "\r").
    child = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    # A pipe holds 64 KiB. If we wrote every question before reading, a child that answers at once
    # would fill its stdout pipe, stop reading, and our write would wait forever; if we waited for
    # each answer before the next question, a child that reads several questions first would wait
    # for us. So one thread writes while this one reads.
    writer = threading.Thread(target=_send, args=(child.stdin, questions), name="ask_all-writer")
    writer.start()

    answers = []
    try:
        for _ in questions:
            line = child.stdout.readline()   # the buffered reader cuts the byte stream at b"\n"
            if not line.endswith(b"\n"):     # b"" is end-of-file: the child closed its stdout, or died
                break
            answers.append(line[:-1].decode("utf-8"))   # a whole line: no character cut in two
    finally:
        child.stdout.close()
        code = child.wait()                  # reap it: no zombie left behind
        writer.join()                        # it ends once every question is written (or EPIPE)

    if len(answers) < len(questions):
        raise ChildProcessError(f"{argv[0]} answered {len(answers)} of {len(questions)} questions, "
                                f"then its output ended (return code {code})")
    return answers, code


def _send(stdin, questions: list[str]) -> None:
    """Write every question as a line, then close the child's stdin: it reads end-of-file."""
    try:
        for question in questions:
            stdin.write(question.encode("utf-8") + b"\n")
    except BrokenPipeError:
        pass   # the child has exited (EPIPE): the reader sees end-of-file and says so
    finally:
        try:
            stdin.close()                    # flushes what is buffered, then closes: end-of-file
        except BrokenPipeError:
            pass
