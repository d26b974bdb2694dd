"""Printing for people and for Claude Code: one stdout console, one stderr console, the
choice of presentation, and small helpers. Everything printed here passes through
`visible`: text from specs, workers and file names cannot steer the terminal."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from functools import cache
from typing import TYPE_CHECKING, Any

from dispatch.core.errors import DispatchError
from dispatch.core.table import FORMATS, Format, Table, render
from dispatch.core.text import visible

if TYPE_CHECKING:
    from rich.console import Console

# Characters JSON leaves raw with ensure_ascii=False that a terminal would act on.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@cache
def out() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


@cache
def err() -> Console:
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def choose_format(given: str | None) -> Format:
    """`--format`, else $DISPATCH_FORMAT, else rich on a terminal and plain off one."""
    wanted = given or os.environ.get("DISPATCH_FORMAT") or "auto"
    if wanted == "auto":
        return "rich" if sys.stdout.isatty() else "plain"
    if wanted not in FORMATS:
        raise DispatchError(f"unknown format {wanted!r}: use plain, markdown or rich (or auto)")
    return wanted


def show(table: Table, fmt: Format, height: int | None = None) -> None:
    if fmt == "rich":
        out().print(render(table, fmt, out().width, height))
    else:
        sys.stdout.write(str(render(table, fmt)))
        sys.stdout.flush()


def terminal_size() -> tuple[int, int]:
    size = shutil.get_terminal_size()
    return size.columns, size.lines


def warn(message: str) -> None:
    sys.stderr.write(f"warning: {visible(message)}\n")


def note(message: str) -> None:
    err().print(visible(message), markup=False, style="dim")


def progress(message: str) -> None:
    """A step of a long operation, shown only to a person watching a terminal."""
    if err().is_terminal:
        note(message)


def say(message: str) -> None:
    """A plain line on stdout (no wrapping, no markup): paths stay whole for copy and paste."""
    sys.stdout.write(visible(message) + "\n")
    sys.stdout.flush()


def say_err(message: str) -> None:
    sys.stderr.write(visible(message) + "\n")


def print_json(data: Any) -> None:
    text = json.dumps(data, indent=2, ensure_ascii=False)
    sys.stdout.write(_JSON_UNSAFE.sub(lambda m: f"\\u{ord(m[0]):04x}", text) + "\n")
