"""Length-prefixed JSON frames on the private result pipe (bytes survive; nothing is unpickled)."""

import base64
import json
import os
import struct

_HEADER = struct.Struct(">I")


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


def encode(frame: dict) -> bytes:
    body = dumps(frame).encode()
    return _HEADER.pack(len(body)) + body


def write_frame(fd: int, frame: dict) -> None:
    data = memoryview(encode(frame))
    while data:
        data = data[os.write(fd, data):]


class FrameReader:
    """Collects bytes as they arrive and yields whole frames."""

    def __init__(self):
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[dict]:
        self._buffer += data
        frames = []
        while len(self._buffer) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(self._buffer)
            if len(self._buffer) < _HEADER.size + size:
                break
            body = bytes(self._buffer[_HEADER.size:_HEADER.size + size])
            del self._buffer[:_HEADER.size + size]
            try:
                frames.append(loads(body))
            except ValueError:
                frames.append({"kind": "garbage"})
        return frames
