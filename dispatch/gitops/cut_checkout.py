"""The leftovers of a checkout cut short, recognised and taken back.

`git merge --ff-only` (like any checkout) writes the files first and moves the branch last:
killed in between (a supervisor killed while it brought a dependency in), it leaves the files
of the commit it was moving to, the branch where it was, and its index.lock. That reads as
uncommitted changes, and a person would be asked to sort out what dispatch left.

They are taken back only when each is provably such a leftover, so that nothing but bytes
git already holds is ever thrown away: the path is one where HEAD and the target differ
(the only paths a checkout writes); the file holds exactly the bytes of the target's blob
(compared raw: a clean filter could otherwise hide a person's edit) with the target's
executable bit, or is gone where the target has nothing; its index entry is HEAD's or the
target's; and no process works in the worktree. Anything else is someone's work: then
nothing is touched.
"""

from __future__ import annotations

import stat
from pathlib import Path

from dispatch.core import procs
from dispatch.gitops import objects, tree
from dispatch.gitops.runner import run

_LITERAL = {"GIT_LITERAL_PATHSPECS": "1"}  # file names are names, never pathspec magic
_FILE_MODES = ("100644", "100755")


def take_back(worktree: Path, target: str, dirty: list[str]) -> bool:
    """Put the `dirty` paths back as HEAD has them when each is a leftover of a checkout
    toward `target` (a commit or a tree) and no process works in the worktree; whether it
    did."""
    if not dirty or any("\n" in path or "\r" in path for path in dirty):
        return False
    theirs, ours = _entries(worktree, target, dirty), _entries(worktree, "HEAD", dirty)
    staged = _index_entries(worktree, dirty)
    if not _only_these_staged(worktree, dirty):
        return False
    for path in dirty:
        if theirs.get(path) == ours.get(path):
            return False  # a checkout toward the target never writes this path
        if staged.get(path) not in (theirs.get(path), ours.get(path)):
            return False  # staged by someone
    blobs = objects.read_blobs(worktree, [sha for mode, sha in theirs.values()
                                          if mode in _FILE_MODES])
    if not all(_as_checkout_left_it(worktree / path, theirs.get(path), blobs)
               for path in dirty):
        return False
    if procs.anyone_working_in(worktree):
        return False  # its index.lock may be a live git's
    tree.remove_stale_index_lock(worktree)
    run(["reset", "-q"], worktree)  # the index as HEAD has it (it may hold the target's)
    for path in sorted((p for p in dirty if p not in ours), key=len, reverse=True):
        _remove_with_empty_folders(worktree, path)  # first: a file may stand for a folder
    back = [path for path in dirty if path in ours]
    if back:
        run(["checkout", "HEAD", "--", *back], worktree, extra_env=_LITERAL)
    return True


def _as_checkout_left_it(file: Path, wanted: tuple[str, str] | None,
                         blobs: dict[str, bytes]) -> bool:
    """Whether `file` is exactly as a checkout toward a tree holding `wanted` (mode, blob)
    there would have left it (None: nothing there); `blobs` holds the target's contents."""
    if wanted is None:
        return not file.exists() and not file.is_symlink()  # the checkout took it away
    mode, blob = wanted
    if mode not in _FILE_MODES or file.is_symlink() or not file.is_file():
        return False
    executable = bool(file.stat().st_mode & stat.S_IXUSR)
    return executable == (mode == "100755") and file.read_bytes() == blobs.get(blob)


def _entries(worktree: Path, commit: str, paths: list[str]) -> dict[str, tuple[str, str]]:
    """path -> (mode, object id) of each of `paths` in `commit`'s tree."""
    return _by_path(run(["ls-tree", "-z", "--full-tree", commit, "--", *paths], worktree,
                        extra_env=_LITERAL), sha_field=2)  # <mode> <type> <sha>\t<path>


def _index_entries(worktree: Path, paths: list[str]) -> dict[str, tuple[str, str]]:
    return _by_path(run(["ls-files", "-s", "-z", "--", *paths], worktree, extra_env=_LITERAL),
                    sha_field=1)  # <mode> <sha> <stage>\t<path>


def _by_path(listing: str, sha_field: int) -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    for entry in filter(None, listing.split("\0")):
        info, _, path = entry.partition("\t")
        fields = info.split()
        found[path] = (fields[0], fields[sha_field])
    return found


def _only_these_staged(worktree: Path, dirty: list[str]) -> bool:
    """`git reset` resets the whole index: nothing else may be staged."""
    staged = run(["diff", "--cached", "--name-only", "-z", "--no-renames"], worktree)
    return set(filter(None, staged.split("\0"))) <= set(dirty)


def _remove_with_empty_folders(worktree: Path, path: str) -> None:
    file = worktree / path
    if file.is_symlink() or file.is_file():
        file.unlink()
    folder = file.parent
    while folder != worktree and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
