"""Files dispatch ships: the Jinja templates, the Claude Code slash commands and the demo's
sample project. They live inside the package (one source, the same in a checkout and in a
wheel) and are found with importlib.resources. A project overrides a template by putting a
file of the same name in `<repo>/.dispatch/templates/`."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def folder(name: str) -> Path:
    """A resource folder as a path (dispatch runs from a directory install, never a zip)."""
    found = files(__name__) / name
    if not isinstance(found, Path):
        raise RuntimeError(f"dispatch's resources are not files on disk ({found!r}); install "
                           "dispatch as a normal (unzipped) package")
    return found


def templates() -> Path:
    return folder("templates")


def slash_commands() -> Path:
    return folder("commands")


def sample() -> Path:
    return folder("sample")
