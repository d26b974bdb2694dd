"""Which paths `integrate --collect` reads and writes: the segment glob and the output path,
both relative to the repository's top level and checked before anything changes.

The glob reads like git's `:(glob)` pathspecs (and shells): `*` and `?` never cross a `/`,
`**/` is any number of folders, `/**` at the end everything below, `[a-z]` a class. Git
cannot match globs in `ls-tree`, so the match is done here, on the paths git lists.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from dispatch.core.errors import DispatchError
from dispatch.core.text import shown

_SHOWN = 300  # characters of a path quoted in a message: long enough for a whole path

# Dispatch's own folder in the user's checkout: no branch should carry files there.
_DISPATCH_FOLDER = ".worktrees"


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A regular expression that matches a whole path exactly when `pattern` does."""
    out: list[str] = []
    at, size = 0, len(pattern)
    while at < size:
        at_start = at == 0 or pattern[at - 1] == "/"
        if at_start and pattern.startswith("**/", at):
            out.append("(?:.*/)?")
            at += 3
        elif at_start and pattern[at:] == "**":
            out.append(".*")
            at += 2
        elif pattern[at] == "*":
            while at < size and pattern[at] == "*":
                at += 1
            out.append("[^/]*")
        else:
            piece, at = _one(pattern, at)
            out.append(piece)
    return re.compile("".join(out), re.DOTALL)


def _one(pattern: str, at: int) -> tuple[str, int]:
    """The regex for the element at `at` (not a star), and where the next one starts."""
    char = pattern[at]
    if char == "?":
        return "[^/]", at + 1
    if char == "\\" and at + 1 < len(pattern):
        return re.escape(pattern[at + 1]), at + 2
    if char == "[":
        start = at + 1
        negate = pattern[start:start + 1] in ("!", "^")
        start += 1 if negate else 0
        end = pattern.find("]", start + 1)  # a `]` first in the class is one of its members
        if end != -1:
            body = re.sub(r"([\\\[\]^])", r"\\\1", pattern[start:end])
            return f"(?!/)[{'^' if negate else ''}{body}]", end + 1
    return re.escape(char), at + 1


def matches(regex: re.Pattern[str], path: str) -> bool:
    return regex.fullmatch(path) is not None


def check_glob(pattern: str) -> str:
    """The segment glob, refused when it could name something outside the repository."""
    parts = _parts(pattern, "--collect")
    return "/".join(parts)


def check_into(root: Path, into: str) -> str:
    """The output path, relative to the repository's top level (an absolute path inside
    the repository is made relative); refused outside it, inside .git or .worktrees/."""
    given = Path(into)
    if given.is_absolute():
        inside = _relative_to(given, root)
        if inside is None:
            raise DispatchError(f"--into {shown(into, _SHOWN)} is outside the repository {root}; "
                                "name a path inside it, e.g. --into public/merged.json")
        into = inside
    return "/".join(_parts(into, "--into"))


def _relative_to(path: Path, root: Path) -> str | None:
    for top in (root, root.resolve()):
        for candidate in (path, path.resolve()):
            if candidate.is_relative_to(top) and candidate != top:
                return candidate.relative_to(top).as_posix()
    return None


def _parts(path: str, option: str) -> list[str]:
    if not path.strip() or "\0" in path or "\n" in path:
        raise DispatchError(f"{option} {shown(path, _SHOWN)} is not a path; name one relative "
                            "to the repository's top level, e.g. staging/*.json")
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts:
        raise DispatchError(f"{option} {shown(path, _SHOWN)} reaches outside the repository; "
                            "name a path relative to its top level, without '..'")
    parts = [part for part in pure.parts if part != "."]
    if any(part.lower() == ".git" for part in parts):
        raise DispatchError(f"{option} {shown(path, _SHOWN)} is inside .git, git's own folder; "
                            "name a path in the repository's files")
    if not parts:
        raise DispatchError(f"{option} {shown(path, _SHOWN)} names the repository itself; name a "
                            "path in it, e.g. public/merged.json")
    if parts[0] == _DISPATCH_FOLDER:
        raise DispatchError(f"{option} {shown(path, _SHOWN)} is inside {_DISPATCH_FOLDER}/, "
                            "dispatch's own folder; name a path in the repository's files")
    return parts
