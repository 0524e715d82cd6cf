"""Style: the plain correct program of one who saw only the stub and the README. The mutants they wrote are
patches of it, one bug each (graders/mutants/fifo_log/*.patch): verify grades it as an alternate, so each patch is
exactly one bug away from a program that passes."""

import os
import select


def collect(path):
    os.mkfifo(path)
    try:
        with open(path, "rb") as f:
            return list(f)
    finally:
        os.unlink(path)


def log_records(path, records):
    fd = os.open(path, os.O_WRONLY)
    try:
        for record in records:
            if len(record) > select.PIPE_BUF:
                raise ValueError(f"a record of {len(record)} bytes is longer than PIPE_BUF")
            os.write(fd, record)
    finally:
        os.close(fd)
