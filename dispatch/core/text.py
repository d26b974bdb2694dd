"""Text from outside (a spec, a worker, a file name) made safe to show on a terminal or in
a report: control characters become visible escapes, so nothing can set a window title,
clear the screen or write the clipboard (OSC 52) through dispatch's output."""

from __future__ import annotations


def shown(name: str, limit: int = 60) -> str:
    """A name as typed, quoted so that look-alikes and control characters are visible."""
    text = ascii(name) if not name.isascii() or not name.isprintable() else repr(name)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def visible(text: str) -> str:
    """Text as written, but with every control or invisible character as an escape."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in text)
