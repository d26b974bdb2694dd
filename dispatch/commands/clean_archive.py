"""Where `dispatch clean` keeps what it takes away: `.worktrees/.archive/<feature>-<time>/`.

Workers write anything anywhere they can, so nothing here trusts a name: a link is kept as a
link and never followed, only regular files are opened (opening a named pipe blocks until a
writer comes), and named pipes, sockets and devices are left out and named — they hold no
data to keep.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import time
from pathlib import Path

from dispatch.core import files
from dispatch.state.paths import ARCHIVE, WORKTREES, FeaturePaths
from dispatch.workspace.workfiles import WORK_DIR

WORKSTREAMS = "workstreams"  # <archive>/workstreams/<name>/: a worktree's .workstream/


def new_folder(paths: FeaturePaths) -> Path:
    """A fresh archive folder (two cleans in one second get two)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = paths.root / WORKTREES / ARCHIVE / f"{paths.feature}-{stamp}"
    for attempt in range(1, 100):
        folder = base if attempt == 1 else base.with_name(f"{base.name}-{attempt}")
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            continue
    raise FileExistsError(base)


def work_dir(worktree: Path) -> Path | None:
    """The worktree's `.workstream/` when it is a folder of its own; None when it is missing
    or is a link or a file (a worker committed one: it is not a folder to archive, and what
    it points at is not the worktree's)."""
    folder = worktree / WORK_DIR
    try:
        return folder if stat.S_ISDIR(folder.lstat().st_mode) else None
    except OSError:
        return None


def work_files(folder: Path) -> list[str]:
    """Every entry that is not a folder under `folder`, relative to it (links not followed),
    but dispatch's own `.gitignore` there: what a person wants named."""
    found = []
    for top, dirs, names in os.walk(folder):
        found += [Path(top, name).relative_to(folder).as_posix() for name in names]
        found += [Path(top, name).relative_to(folder).as_posix() for name in dirs
                  if Path(top, name).is_symlink()]
    return sorted(name for name in found if name != ".gitignore")


def keep_work_dir(folder: Path, archive: Path, name: str, *, tracked: bool) -> Path:
    """Move a worktree's `.workstream/` into the archive in one rename (nothing is read, and
    `undo_keep` puts it back exactly) — or copy it when git tracks files in it (a worker
    committed them: gone from the worktree, they would look to git like deletions, and it
    would refuse to remove the worktree). Raises OSError when it cannot."""
    target = archive / WORKSTREAMS / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if tracked:
        transfer(folder, target, move=False)
    else:
        folder.rename(target)
    return target


def undo_keep(kept: Path, folder: Path, *, tracked: bool) -> None:
    """The worktree stays: its `.workstream/` goes back (a copy is dropped: it never left)."""
    if tracked:
        shutil.rmtree(kept, ignore_errors=True)
    else:
        kept.rename(folder)


def transfer(source: Path, target: Path, *, move: bool) -> list[Path]:
    """Copy (or move) `source` to `target`, entry by entry; returns what was left out."""
    mode = source.lstat().st_mode
    if stat.S_ISDIR(mode):
        target.mkdir(parents=True, exist_ok=True)
        left: list[Path] = []
        for entry in sorted(source.iterdir()):
            left += transfer(entry, target / entry.name, move=move)
        return left
    if stat.S_ISLNK(mode):
        target.symlink_to(source.readlink())
        if move:
            source.unlink()
    elif not stat.S_ISREG(mode) or not _file(source, target, move=move):
        return [source]
    return []


def _file(source: Path, target: Path, *, move: bool) -> bool:
    if move:
        try:
            source.rename(target)  # the same disk: nothing is read
            return True
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
    if not _copy(source, target):
        return False
    if move:
        source.unlink()
    return True


def _copy(source: Path, target: Path) -> bool:
    """Copy a regular file; False when it turns out not to be one (replaced by a pipe since
    it was looked at: open_regular does not block on it)."""
    try:
        src = files.open_regular(source)
    except OSError as exc:
        if exc.errno in (errno.EINVAL, errno.ELOOP):  # a pipe, or a link, put there since
            return False
        raise
    with src, target.open("xb") as dst:
        shutil.copyfileobj(src, dst, 1024 * 1024)
    shutil.copystat(source, target, follow_symlinks=False)
    return True


def kind(path: Path) -> str:
    """What a left-out entry is, in words."""
    try:
        mode = path.lstat().st_mode
    except OSError:
        return "gone"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file"
