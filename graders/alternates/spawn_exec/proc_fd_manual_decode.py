"""Correct alternate, style: close fds by listing /proc/self/fd; decode the wait status by hand."""

import os


def _close_fds_above_2():
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2:
            try:
                os.close(fd)
            except OSError:
                pass


def spawn(argv: list[str], preexec_fn=None) -> int:
    pid = os.fork()
    if pid == 0:
        code = 126
        try:
            if preexec_fn is not None:
                preexec_fn()
            _close_fds_above_2()
            os.execvp(argv[0], argv)
        except FileNotFoundError:
            code = 127
        except BaseException:  # noqa: BLE001  (any other failure: 126)
            code = 126
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    raise RuntimeError("unexpected wait status %#x" % status)
