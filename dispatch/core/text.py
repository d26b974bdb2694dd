"""Text from outside (a spec, a worker, a file name) made safe to show on a terminal or in
a report: control characters become visible escapes, so nothing can set a window title,
clear the screen or write the clipboard (OSC 52) through dispatch's output, and no
bidirectional override can make a line read differently from what it holds."""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls, and the bidi overrides and isolates.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    """`text` with every control character written as a visible escape (`\\x1b`), and
    printable: a lone surrogate shows as U+FFFD rather than failing the write."""
    return well_formed(_UNSAFE.sub(_escape, text))


def visible_line(text: str) -> str:
    """`visible`, on one line: newlines and tabs become spaces (table cells, notes)."""
    return " ".join(visible(text).split())


def _escape(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def well_formed(text: str) -> str:
    """`text` that can be written as UTF-8: a lone surrogate (from a JSON `\\ud800` or a file
    name that is not UTF-8) becomes U+FFFD instead of failing the write."""
    return _SURROGATE.sub("\ufffd", text)


_SURROGATE = re.compile("[\ud800-\udfff]")


def shown(name: str, limit: int = 60) -> str:
    """A name as typed, quoted so that look-alikes and control characters are visible."""
    text = ascii(name) if not name.isascii() or not name.isprintable() else repr(name)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def counted(number: int, noun: str) -> str:
    """`1 commit`, `2 commits`: a number with its noun (nouns that take an s)."""
    return f"{number} {noun}{'' if number == 1 else 's'}"
