"""Hostile (reaper): leaves things outside its private folder: a FIFO and a bound socket in /tmp, a
file in /var/tmp, a file in /dev/shm, a POSIX message queue and a System V segment. After the test,
none of them may exist (separate-user mode: by owner; IPC objects die with the IPC namespace)."""
import ctypes
import os
import socket

NAME = "proclab-hostile-leftover"


def install_reaper():
    for make in (lambda: os.mkfifo(f"/tmp/{NAME}.fifo"),
                 lambda: socket.socket(socket.AF_UNIX).bind(f"/tmp/{NAME}.sock"),
                 lambda: open(f"/var/tmp/{NAME}.file", "w").close(),
                 lambda: open(f"/dev/shm/{NAME}.shm", "w").close()):
        try:
            make()
        except OSError:
            pass
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mq_open.restype = ctypes.c_int
    libc.mq_open(f"/{NAME}".encode(), os.O_CREAT | os.O_RDWR, 0o600, None)
    libc.shmget(0, 4096, 0o1600)  # IPC_PRIVATE, IPC_CREAT | 0600
    raise NotImplementedError("install_reaper")  # the point was the leftovers, not the grade
