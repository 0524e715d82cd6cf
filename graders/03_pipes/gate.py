"""A pipeline command for the pipe_chain grader: wait at a gate, copy stdin to stdout, wait at an exit gate.

    python -I -S gate.py GATE_FIFO EXIT_FIFO LABEL STATUS

The grader holds both FIFOs open read-write before the pipeline starts: reading them blocks until the
grader closes its end (end-of-file); a gate the grader has closed already lets the command through. While every copy
of this command waits at GATE_FIFO, the grader inspects the pipeline from outside: who is whose
parent, which pipe each fd points at. Closing it lets them all through at once. Each copy then
copies its stdin to its stdout, closes its stdout (the output of the pipeline ends when the last
one has), and waits at its own EXIT_FIFO: the grader lets them exit one at a time, the last command
first, so the order of the return codes can be checked against the order of the commands. The
command exits with STATUS. LABEL only tells the copies apart in `ps`.
"""

import os
import sys


def open_gate(path: str) -> int:
    """Open the FIFO without waiting for a writer (a gate already opened by the grader has none),
    then read from it blocking: end-of-file as soon as the grader holds it no more."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    os.set_blocking(fd, True)
    return fd


gate = open_gate(sys.argv[1])
os.read(gate, 1)
os.close(gate)
while data := os.read(0, 65536):
    view = memoryview(data)
    while view:
        view = view[os.write(1, view):]
gate = open_gate(sys.argv[2])   # before closing fd 1, so that it does not land on fd 1
os.close(1)
os.read(gate, 1)
sys.exit(int(sys.argv[4]))
