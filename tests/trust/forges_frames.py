"""Hostile (reaper): writes result frames of its own on every inherited fd, shaped like the grader's
(length, pid, number, JSON, a 32-byte tag) and claiming the scenario returned. Without the launch's
key the tag is wrong: the frame is rejected and the submission flagged."""
import json
import os
import struct


def install_reaper():
    body = json.dumps({"kind": "result", "value": {"returned": "dict", "returned_repr": "{}"}}).encode()
    frame = struct.pack(">IIQ", len(body), os.getpid(), 2) + body + os.urandom(32)
    for fd in range(3, 64):
        try:
            os.write(fd, frame)
        except OSError:
            pass
    return {}
