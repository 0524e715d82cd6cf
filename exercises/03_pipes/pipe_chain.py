"""Connect commands with anonymous pipes: `cmd1 | cmd2 | ... | cmdN`, without a shell.

Read exercises/03_pipes/README.md first. Grade with `nox -s grade -- pipe_chain`.

run_pipeline(commands, input=b"") -> (output, return_codes)

Arguments
- commands: a non-empty list of argument vectors, e.g. [["yes"], ["head", "-n", "3"]].
- input: bytes written to the first command's stdin, which is then closed (end-of-file). With
  input=b"" the first command reads end-of-file at once (never the caller's own stdin).
- A command may exit before reading all of its input: writing the rest then fails with EPIPE
  (BrokenPipeError). That is no error: run_pipeline does not raise, stops writing, and that
  command's code is whatever it exited with.

Return value
- output: every byte the last command wrote to its stdout, up to end-of-file, however slowly
  it comes (in pieces, after a long silence).
- return_codes: one int per command, in command order (not the order they exit): its exit
  status, or -N when signal N killed it (subprocess's convention), however long it runs. A
  command that cannot be found gets 127, one that exists but cannot be executed (no execute
  permission) gets 126, and the rest of the pipeline still runs, as in bash.

What must be true of the OS
- Each command is a direct child of the process that called run_pipeline, started by exec:
  no shell in between (no `sh -c`).
- All commands run at the same time. fd 1 of command i and fd 0 of command i+1 are the two
  ends of one OS pipe: no intermediate output passes through Python.
- Children get SIGPIPE's default action: `yes | head -n 3` returns (b"y\\ny\\ny\\n", [-13, 0])
  promptly.
- 10 MB in and out through `cat | cat` does not deadlock.
- When run_pipeline returns, every child has been reaped (no zombie, no child left), and the
  caller has no file descriptor open that it did not have before the call.
"""

import os  # noqa: F401 - you will need os.pipe, os.fork, os.dup2, os.execvp, os.waitpid...
import signal  # noqa: F401 - ...and signal.signal for SIGPIPE (or subprocess.Popen instead)


def run_pipeline(commands: list[list[str]], input: bytes = b"") -> tuple[bytes, list[int]]:
    # TODO: create one pipe per link with os.pipe() (plus one for the input and one for the
    #       output), and start every command before waiting for any of them.
    # TODO: in each child: put the right pipe ends on fd 0 and fd 1, restore SIGPIPE's default
    #       action, then exec the command; if exec fails, exit at once with os._exit(127)
    #       (not found) or os._exit(126) (found, but cannot be executed).
    # TODO: in the parent: close your copy of each pipe end as soon as its child has it.
    # TODO: write `input` into the first pipe (all of it, or until BrokenPipeError), then close
    #       it, while reading the last one until end-of-file.
    # TODO: wait for every child; turn each wait status into a return code.
    raise NotImplementedError("run_pipeline: see the TODOs in exercises/03_pipes/pipe_chain.py")
