"""Style: the plain correct program of one who saw only the stub and the README. The mutants they wrote are
patches of it, one bug each (graders/mutants/spawn_exec/*.patch): verify grades it as an alternate, so each patch is
exactly one bug away from a program that passes."""

import os


def spawn(argv: list[str], preexec_fn=None) -> int:
    pid = os.fork()
    if pid == 0:
        try:
            if preexec_fn is not None:
                preexec_fn()
            os.closerange(3, os.sysconf("SC_OPEN_MAX"))
            os.execvp(argv[0], argv)
        except FileNotFoundError:
            os._exit(127)
        except OSError:
            os._exit(126)
        finally:
            os._exit(126)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)
