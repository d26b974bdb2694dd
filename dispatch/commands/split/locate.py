"""The paths tools print -> the repository's own paths (relative to its top, `/`-separated).

Linters print paths relative to where they ran (the working folder), absolute paths, or
`file://` URIs (SARIF); a finding is kept only about a file of this repository, because
that file is what one workstream will own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from urllib.parse import unquote, urlparse

from dispatch.gitops import tree


@dataclass
class Locator:
    root: Path
    cwd: Path
    tracked: set[str] = field(default_factory=set)
    # A report names each file once per finding: each name is resolved once.
    _found: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def of(cls, root: Path, cwd: Path) -> Locator:
        return cls(root, cwd, set(tree.tracked_files(root, [])))

    def find(self, raw: str) -> str | None:
        """The repository path `raw` names, or None when it names no file of it."""
        if raw not in self._found:
            self._found[raw] = self._find(raw)
        return self._found[raw]

    def _find(self, raw: str) -> str | None:
        given = raw.strip()
        if given.startswith("file://"):
            given = unquote(urlparse(given).path)
        if not given:
            return None
        path = Path(given)
        candidates = [path] if path.is_absolute() else [self.cwd / path, self.root / path]
        for candidate in candidates:
            found = self._inside(candidate)
            if found is not None:
                return found
        return None

    @cached_property
    def _real_root(self) -> str:
        return os.path.realpath(self.root)

    def is_file(self, raw: str) -> bool:
        return self.find(raw) is not None

    def size(self, path: str) -> int:
        try:
            return (self.root / path).stat().st_size
        except OSError:
            return 0

    def _inside(self, candidate: Path) -> str | None:
        try:
            relative = os.path.relpath(os.path.realpath(candidate), self._real_root)
            name = Path(relative).as_posix()
            if relative.startswith("..") or Path(relative).is_absolute() or relative == "." \
                    or name.startswith((".git/", ".worktrees/")):  # git's and dispatch's own
                return None
            return name if name in self.tracked or (self.root / name).is_file() else None
        except (OSError, ValueError):  # a name too long for a path, or with a NUL in it
            return None
