"""Signed, length-prefixed JSON frames on the private result pipe (bytes survive; nothing is unpickled).

Student code shares its process with the scenario that reports on it, so a frame proves where it
came from with an HMAC under a key made fresh for each launch, and a sequence number, so a frame
copied from another run, or written into the pipe by hand, is rejected (and flagged).

The writer's tools (encoder, HMAC, os.write) are captured when this module is imported, before
any student code runs: replacing json.dumps or os.write later changes nothing.
"""

import base64
import binascii
import hmac
import json
import json.encoder
import os
import struct

_HEADER = struct.Struct(">IIQ")  # body length, writer pid, sequence number (per writer process)
MAC_SIZE = 32
KEY_SIZE = 32
MAX_FRAME = 16 << 20


def _default(value):
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"__bytes__": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"a scenario returned {type(value).__name__}, which cannot cross the result pipe")


def _hook(obj):
    if len(obj) == 1 and "__bytes__" in obj:
        return base64.b64decode(obj["__bytes__"])
    return obj


def dumps(value) -> str:
    return json.dumps(value, default=_default)


def loads(text: str | bytes):
    return json.loads(text, object_hook=_hook)


def _frozen_encoder():
    """A JSON encoder made only of objects captured now (the C encoder, builtins), for the writer."""
    b2a, isinst, buffers, sets, srt = binascii.b2a_base64, isinstance, (bytes, bytearray, memoryview), \
        (set, frozenset), sorted
    as_bytes, type_, type_error = bytes, type, TypeError

    def default(value):
        if isinst(value, buffers):
            return {"__bytes__": b2a(as_bytes(value), newline=False).decode("ascii")}
        if isinst(value, sets):
            return srt(value)
        raise type_error(f"a scenario returned {type_(value).__name__}, which cannot cross the result pipe")

    make = json.encoder.c_make_encoder
    if make is None:  # pragma: no cover - CPython always has the C encoder
        encoder = json.JSONEncoder(default=default).encode
        return lambda value: encoder(value).encode("utf-8")
    c_encoder = make(None, default, json.encoder.encode_basestring_ascii, None, ": ", ", ",
                     False, False, True)
    join = "".join

    def encode(value) -> bytes:
        return join(c_encoder(value, 0)).encode("utf-8")
    return encode


def make_writer(fd: int, key: bytes):
    """write(frame: dict) -> None, signing each frame; key and tools live only in this closure."""
    encode, digest, pack, write, getpid = _frozen_encoder(), hmac.digest, _HEADER.pack, os.write, os.getpid
    state = {"pid": getpid(), "seq": 0}

    def write_frame(frame: dict) -> None:
        body = encode(frame)
        pid = getpid()
        if pid != state["pid"]:  # a forked process numbers its own frames
            state["pid"], state["seq"] = pid, 0
        state["seq"] += 1
        head = pack(len(body), pid, state["seq"])
        data = memoryview(head + body + digest(key, head + body, "sha256"))
        while data:
            data = data[write(fd, data):]
    return write_frame


class FrameReader:
    """Collects bytes as they arrive and yields whole frames that carry a valid signature.

    A frame with a bad signature, a sequence number out of order, or a body that is not JSON
    comes out as {"kind": "forged", "why": ...}; nothing after it is trusted.
    """

    def __init__(self, key: bytes):
        self._key = key
        self._buffer = bytearray()
        self._seq: dict[int, int] = {}
        self.broken = False

    def feed(self, data: bytes) -> list[dict]:
        if self.broken:
            return []
        self._buffer += data
        frames = []
        while len(self._buffer) >= _HEADER.size:
            size, pid, seq = _HEADER.unpack_from(self._buffer)
            if size > MAX_FRAME:
                return frames + [self._forged("a frame longer than any the grader writes")]
            end = _HEADER.size + size + MAC_SIZE
            if len(self._buffer) < end:
                break
            signed, mac = bytes(self._buffer[:end - MAC_SIZE]), bytes(self._buffer[end - MAC_SIZE:end])
            del self._buffer[:end]
            if not hmac.compare_digest(hmac.digest(self._key, signed, "sha256"), mac):
                return frames + [self._forged("a frame whose signature is not the grader's")]
            due = self._seq.get(pid, 0) + 1
            if seq != due:
                return frames + [self._forged(f"frame number {seq} of process {pid} where {due} was due (a replay)")]
            self._seq[pid] = seq
            try:
                frames.append(loads(signed[_HEADER.size:]))
            except ValueError:
                return frames + [self._forged("a signed frame that is not JSON")]
        return frames

    def _forged(self, why: str) -> dict:
        self.broken = True
        return {"kind": "forged", "why": why}


def new_key() -> bytes:
    return os.urandom(KEY_SIZE)
