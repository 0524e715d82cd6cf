"""A pipeline command for the pipe_chain grader: wait at a gate, then copy stdin to stdout.

    python -I -S gate.py GATE_FIFO LABEL

The grader holds GATE_FIFO open read-write before the pipeline starts, so opening it for
reading does not block; reading it does, until the grader closes its end (end-of-file). While
every copy of this command waits there, the grader inspects the pipeline from outside: who is
whose parent, which pipe each fd points at. LABEL only tells the copies apart in `ps`.
"""

import os
import sys

gate = os.open(sys.argv[1], os.O_RDONLY)
os.read(gate, 1)
os.close(gate)
while data := os.read(0, 65536):
    view = memoryview(data)
    while view:
        view = view[os.write(1, view):]
