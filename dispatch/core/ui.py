"""Printing for people: one stdout console, one stderr console, and small helpers."""

from __future__ import annotations

import json
import sys
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


@cache
def out() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


@cache
def err() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def warn(message: str) -> None:
    err().print(f"warning: {message}", markup=False)


def diagnostic(line: str) -> None:
    """A `file:line: warning: ...` line on stderr, never wrapped: editors jump to it."""
    err().print(line, markup=False, soft_wrap=True)


def note(message: str) -> None:
    err().print(message, markup=False, style="dim")


def progress(message: str) -> None:
    """A step of a long operation, shown only to a person watching a terminal."""
    if err().is_terminal:
        note(message)


def say(message: str) -> None:
    """A plain line on stdout (no wrapping, no markup): paths stay whole for copy and paste."""
    sys.stdout.write(message + "\n")
    sys.stdout.flush()


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
