"""Talk to a child process through two pipes, line by line: a coprocess (协同进程).

Read exercises/03_pipes/README.md first. Grade with `nox -s grade -- coprocess`.

ask_all(argv, questions) -> (answers, returncode)

Arguments
- argv: the child's argument vector, e.g. ["python3", "bot.py"]. The child reads questions on its
  stdin, one per line, and writes exactly one answer line on its stdout for each, in order. But it
  keeps its own pace: it may answer each question at once, or only after it has read several more
  (the last ones only at end-of-file); an answer may come in pieces, several may come in one write,
  and answers may be long (longer than a pipe holds).
- questions: a list of str, none of which contains "\n".

Return value
- answers: one str per question, in order: the child's answer lines, decoded from UTF-8, without
  their "\n". A line ends at "\n" and nowhere else: a "\r", a U+2028 or white space in an answer
  belongs to it and is kept (text mode's universal newlines, str.splitlines() and strip() do not).
- returncode: the child's exit status, or -N when signal N killed it (subprocess's convention).
- If the child's stdout ends (end-of-file) before every question has its answer (it exited, with
  whatever status, 0 too, or closed its stdout early), ask_all raises ChildProcessError. Writing
  into the pipe of a child that has exited fails with EPIPE (BrokenPipeError): that is no error of
  its own; stop writing.

What must be true of the OS
- The child is a direct child of the caller, started by exec with exactly argv (no shell).
- Its fd 0 is the read end of one pipe and its fd 1 the write end of another; the caller writes
  the questions into the first and reads the answers from the second. The caller closes its copies
  of the child's two ends as soon as the child has started, and the child gets no other copy of
  either pipe (only fd 0, 1 and 2; its fd 2 is the caller's own stderr, left alone).
- The caller writes questions while it reads answers: there is no deadlock, whatever the child's
  pace and however much is said.
- Right after the last question (at once when there is none), the caller closes the child's
  stdin, so the child reads end-of-file.
- When ask_all returns or raises, the child has been reaped (no zombie, no child left), the caller
  has no file descriptor open that it did not have before the call, and every thread ask_all
  started has ended, none with an exception.
"""

import subprocess  # noqa: F401 - Popen(argv, stdin=PIPE, stdout=PIPE): bytes, cut at b"\n"...
import threading  # noqa: F401 - ...and a thread to write while you read


def ask_all(argv: list[str], questions: list[str]) -> tuple[list[str], int]:
    # TODO: start the child with a pipe on its stdin and a pipe on its stdout (subprocess.PIPE does
    #       both and closes your copies of the child's ends; with os.pipe + fork + exec, close them
    #       yourself right after the fork).
    # TODO: in a thread, write every question encoded in UTF-8 followed by b"\n", then close the
    #       child's stdin (the child reads end-of-file). A child that has exited makes the write fail
    #       with BrokenPipeError: catch it there and stop writing.
    # TODO: meanwhile, read the answers line by line through a buffered reader (readline on the
    #       pipe's binary file object): one line per question, until end-of-file; decode each
    #       whole line and drop its final b"\n", nothing else (no text mode: it ends lines at "\r").
    # TODO: close the child's stdout, wait for the child (its return code), join the thread.
    # TODO: raise ChildProcessError when answers are missing; else return (answers, returncode).
    raise NotImplementedError("ask_all: see the TODOs in exercises/03_pipes/coprocess.py")
