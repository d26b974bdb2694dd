"""The few exception types dispatch raises on purpose.

`DispatchError` is anything the user can fix: the CLI prints its message as one line on
stderr and exits 1. Everything else is a bug and is reported as such.
"""

from __future__ import annotations

from pathlib import Path


class DispatchError(Exception):
    """A problem the user can fix; the message says what to do."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        # One line, always: messages may quote user text that holds newlines.
        super().__init__(" ".join(message.split()))

    @property
    def message(self) -> str:
        return str(self.args[0])


class SpecError(DispatchError):
    """A problem in a spec file, reported as `file:line: message`."""

    def __init__(self, path: Path | str, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}")
        self.path = str(path)
        self.line = line


class BusyError(DispatchError):
    """Another dispatch process holds the lock this one needs."""


class NothingToIntegrate(DispatchError):
    """No workstream is ready to merge (yet): `integrate --watch` keeps waiting on this."""
