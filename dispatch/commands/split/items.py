"""What a work list holds: items (a finding of a tool, or a line of a list), each about one
file, and the files that the workstreams will own."""

from __future__ import annotations

from dataclasses import dataclass, field

# Most severe first: the order of `--by severity` groups, and how a file's ties are broken.
SEVERITY_ORDER = ("fatal", "error", "warning", "refactor", "convention", "note", "info")


@dataclass(frozen=True)
class Item:
    """One thing to do, at one place: a linter's finding, or one line of a plain list."""

    file: str  # as the tool wrote it until `locate` makes it the repository's path
    line: int | None = None
    rule: str | None = None
    severity: str | None = None
    message: str = ""
    source_line: int = 0  # where it is in the input, for error messages


@dataclass
class FileWork:
    """A file and its items (none for a plain list of files); `weight` is what is balanced."""

    path: str
    items: list[Item] = field(default_factory=list)
    size: int = 0  # bytes on disk, for plain files

    @property
    def weight(self) -> int:
        # Every file counts: an empty file is still work to hand to someone.
        return len(self.items) if self.items else max(1, self.size)


def severity_rank(severity: str | None) -> int:
    """0 for the most severe; unknown severities after the known ones."""
    if severity in SEVERITY_ORDER:
        return SEVERITY_ORDER.index(severity)
    return len(SEVERITY_ORDER)
