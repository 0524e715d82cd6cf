"""A well-behaved submission for the harness probe."""

import os
import sys


def echo(value):
    return value


def spawn_and_wait():
    pid = os.fork()
    if pid == 0:
        os._exit(7)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


if __name__ == "__main__":
    print("ready", flush=True)
    print(sys.stdin.read() == "", flush=True)
