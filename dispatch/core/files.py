"""Files in places others can write: workers share the feature folder (its logs, its state)
and own their worktrees, so any path dispatch keeps there may have been replaced by a named
pipe, a device or a symlink. Opening a pipe blocks until someone writes to it: a supervisor
that did so would wedge, and every `status` with it.

So these open without following a last symlink and without blocking, and use only regular
files: to a reader anything else is missing; a writer replaces it (in dispatch's own folders
a pipe or a link holds nothing to lose, and what a link points to is left alone).
"""

from __future__ import annotations

import errno
import os
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, cast

_READ = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC


def open_regular(path: Path) -> BinaryIO:
    """`path` opened for reading; OSError when it is missing or not a regular file."""
    fd = os.open(path, _READ)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: Path, limit: int = -1) -> bytes:
    """The first `limit` bytes (all by default); b"" when there is no regular file."""
    try:
        with open_regular(path) as handle:
            return handle.read(limit)
    except OSError:
        return b""


def read_text(path: Path, limit: int = -1) -> str | None:
    """The text (undecodable bytes replaced), or None when there is no regular file."""
    try:
        with open_regular(path) as handle:
            return handle.read(limit).decode("utf-8", errors="replace")
    except OSError:
        return None


def tail(path: Path, size: int) -> bytes:
    """The last `size` bytes; b"" when there is no regular file."""
    try:
        with open_regular(path) as handle:
            end = os.fstat(handle.fileno()).st_size
            handle.seek(max(0, end - size))
            return handle.read(size)
    except OSError:
        return b""


def open_log(path: Path, mode: str = "ab") -> BinaryIO:
    """`path` opened to write ("wb") or append ("ab"), as a regular file of its own."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    flags |= os.O_APPEND if mode == "ab" else os.O_TRUNC
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            path.unlink()  # a pipe or a link someone put in dispatch's place
    except FileNotFoundError:
        pass
    fd = os.open(path, flags, 0o644)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # replaced again in between: give up
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        return cast(BinaryIO, os.fdopen(fd, mode))
    except BaseException:
        os.close(fd)
        raise


def rename_aside(path: Path, name: Callable[[str], str]) -> Path:
    """Rename what is in dispatch's way (a link is renamed itself, never followed) to the
    first free `name(tag)`, the tag being the UTC time, then the time and -2, -3…"""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    target, n = path.with_name(name(stamp)), 1
    while target.exists() or target.is_symlink():
        n += 1
        target = path.with_name(name(f"{stamp}-{n}"))
    path.rename(target)
    return target
