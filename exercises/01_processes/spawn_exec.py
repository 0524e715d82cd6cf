"""Run a program in a child process: fork, then exec (exec 系统调用), then wait.

Read exercises/01_processes/README.md first. Grade with `nox -s grade -- spawn_exec`.

os.fork() makes a copy of the caller; exec (os.execvp) then replaces the program that copy
runs with another one, read from a file: new code, new memory, new argv. The process stays
the same process: same pid, same parent, same open files (unless marked close-on-exec),
same environment and current directory unless exec is told otherwise. Fork + exec + wait
is how a shell runs every command, and what subprocess does for you.

Contract
--------
spawn(argv: list[str], preexec_fn=None) -> int

`argv` is a non-empty argument vector, e.g. ["sh", "-c", "exit 3"]; `preexec_fn` is None or
a function taking no arguments.

* Forks exactly one child with os.fork(); the caller is its parent.
* In the child, when preexec_fn is given, calls preexec_fn() after the fork, then closes the
  fds, then execs (the order of subprocess.Popen with its own preexec_fn).
* In the child, makes sure that no file descriptor other than 0, 1 and 2 stays open in the
  new program: not one the caller made inheritable (os.set_inheritable), whatever its number
  (fd numbers go up to the limit os.sysconf("SC_OPEN_MAX"), far above 255), nor one
  preexec_fn opened. Close them after preexec_fn, just before exec, as subprocess does with
  close_fds=True.
* In the child, replaces the program with os.execvp(argv[0], argv): argv[0] is looked up in
  the directories of PATH, in order (unless it contains a "/"), and the first file of that
  name that can be executed runs (a file without execute permission is skipped: the search
  goes on). The new program gets exactly argv as its argument vector, argv[0] as given (not
  the path found). The process keeps its pid and its parent.
* The new program runs with the caller's environment (os.environ), current directory and
  stdin/stdout/stderr (fds 0, 1, 2), unchanged.
* If preexec_fn raises, or exec fails, the child ends at once, without running the program:
  with os._exit(127) when the exception is FileNotFoundError (the command cannot be found),
  and with os._exit(126) for any other exception (e.g. PermissionError: a file without
  execute permission; or whatever preexec_fn raised). The child never returns, nor raises an
  exception, into the caller's code: only the parent returns from spawn.
* The parent waits for the child to end with os.waitpid(pid, 0), so that no zombie is left:
  for that child only (the caller may have other children, which spawn leaves alone), and
  until it has ended (a child stopped by a signal, e.g. SIGSTOP, has not ended). It leaves no
  new file descriptor open.
* Returns the child's return code, in subprocess's convention: its exit status (0..255), or
  -N when signal N killed it (whether it dumped core or not).

Example
-------
    spawn(["sh", "-c", "exit 3"])          == 3
    spawn(["sh", "-c", "kill -TERM $$"])   == -15      # killed by SIGTERM (15)
    spawn(["no-such-command"])             == 127
    spawn(["true"], preexec_fn=lambda: print("in the child, pid", os.getpid()))  == 0
    spawn(["true"], preexec_fn=lambda: 1 / 0)        == 126      # preexec_fn raised: no exec
"""

import os  # noqa: F401  (os.fork, os.closerange, os.execvp, os._exit, os.waitpid, os.waitstatus_to_exitcode)


def spawn(argv: list[str], preexec_fn=None) -> int:
    # TODO: fork.
    # TODO: in the child: call preexec_fn if there is one; then close every fd above 2
    #       (os.closerange); exec argv with os.execvp. Exec returns only when it failed:
    #       end the child with os._exit(127) or os._exit(126), whatever happened (an
    #       exception from preexec_fn included).
    # TODO: in the parent: wait for the child and turn its wait status into a return code.
    raise NotImplementedError("spawn: see the TODOs in exercises/01_processes/spawn_exec.py")
