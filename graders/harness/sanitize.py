"""Text from student-influenced code, made safe to show: one visible line, capped, in any output format."""

import string
import unicodedata

HIDDEN = {"Cc", "Cf", "Cs", "Zl", "Zp"}
NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# GFM cells: `&<>` as entities (no HTML, no `<!--`); every other ASCII punctuation backslash-escaped, which
# CommonMark always allows and which also breaks emphasis, links, images, autolinks, math and `|` cell splits.
MARKDOWN = {**{ord(c): "\\" + c for c in string.punctuation}, ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;"}


def _noncharacter(code: int) -> bool:
    return 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE


def _visible(char: str) -> str:
    """One character as it may be shown: itself, or an escape such as `\\x1b` or `\\u202e`."""
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        return "\ufffd"  # a lone surrogate: it cannot be encoded, so it is replaced, not shown
    if char in NAMED:
        return NAMED[char]
    if unicodedata.category(char) not in HIDDEN and not _noncharacter(code):
        return char
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _as_str(value) -> str:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    return value if isinstance(value, str) else str(value)


def text(value, limit: int = 2000) -> str:
    """`value` as one line of at most `limit` visible characters. Only the first `limit` + 1 characters are
    looked at, so the time is linear in the input (the slice) and the escaping costs O(limit)."""
    value = _as_str(value)
    pieces = _pieces(value[:limit + 1])
    if len(value) <= limit and sum(map(len, pieces)) <= limit:
        return "".join(pieces)
    room = limit - len(_marker(len(value)))  # the marker is never longer than with every character cut
    kept, used = [], 0
    for piece in pieces:
        if used + len(piece) > room:
            break
        kept.append(piece)
        used += len(piece)
    return ("".join(kept) + _marker(len(value) - len(kept)))[:limit]


def _marker(more: int) -> str:
    return f" … [cut: {more:,} more characters; the whole output is in .grade/logs/]"


def _pieces(head: str) -> list[str]:
    """The characters of `head` as shown. The Actions runner obeys `::command::` at the start of a log line,
    after its leading whitespace, and a legacy `##[command]` anywhere in a line: neither is shown as such."""
    pieces = [_visible(c) for c in head]
    start = next((i for i, piece in enumerate(pieces) if not piece.isspace()), len(pieces))
    if pieces[start:start + 2] == [":", ":"]:
        pieces[start] = "\\x3a"
    for i in range(2, len(pieces)):
        if pieces[i] == "[" and pieces[i - 1] == pieces[i - 2] == "#":
            pieces[i] = "\\x5b"
    return pieces


def markdown_cell(value, limit: int = 2000) -> str:
    """`value` as the inline content of one GitHub-flavoured Markdown table cell, shown literally."""
    return text(value, limit).translate(MARKDOWN)


def workflow_data(value, limit: int = 2000) -> str:
    """The message of an Actions workflow command (actions/toolkit escapeData)."""
    return text(value, limit).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def workflow_property(value, limit: int = 200) -> str:
    """A property value of an Actions workflow command (actions/toolkit escapeProperty)."""
    return workflow_data(value, limit).replace(":", "%3A").replace(",", "%2C")
