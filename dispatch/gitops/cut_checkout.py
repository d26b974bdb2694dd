"""The leftovers of a checkout cut short, recognised and taken back.

`git merge --ff-only` (like any checkout) writes the files first and moves the branch last:
killed in between (a supervisor killed while it brought a dependency in), it leaves the files
of the commit it was moving to, the branch where it was, and its index.lock. That reads as
uncommitted changes, and a person would be asked to sort out what dispatch left. They are
recognised by their contents: every changed path holds exactly what the target holds there,
or is gone where the target has nothing; putting such a path back as HEAD has it loses
nothing, since the target's objects keep every byte. Anything else is someone's work: then
nothing is touched.
"""

from __future__ import annotations

from pathlib import Path

from dispatch.core import procs
from dispatch.gitops import tree
from dispatch.gitops.runner import run

_LITERAL = {"GIT_LITERAL_PATHSPECS": "1"}  # file names are names, never pathspec magic


def take_back(worktree: Path, target: str, dirty: list[str]) -> bool:
    """Put the `dirty` paths back as HEAD has them when each is a leftover of a checkout
    toward `target` (a commit or a tree) and no process works in the worktree; whether it
    did."""
    if not dirty or any("\n" in path for path in dirty):
        return False
    theirs, ours = _blobs(worktree, target, dirty), _blobs(worktree, "HEAD", dirty)
    if not all(_left_by_checkout(worktree, path, theirs.get(path)) for path in dirty):
        return False
    if procs.anyone_working_in(worktree):
        return False  # its index.lock may be a live git's
    tree.remove_stale_index_lock(worktree)
    run(["reset", "-q"], worktree)  # the index as HEAD has it (it may hold the target's)
    back = [path for path in dirty if path in ours]
    if back:
        run(["checkout", "HEAD", "--", *back], worktree, extra_env=_LITERAL)
    for path in dirty:
        if path not in ours:
            _remove_with_empty_folders(worktree, path)
    return True


def _left_by_checkout(worktree: Path, path: str, wanted: str | None) -> bool:
    """Whether `path` is as the checkout toward a tree holding blob `wanted` there (None:
    nothing there) would have left it."""
    file = worktree / path
    if file.is_symlink() or not file.exists():
        return wanted is None and not file.is_symlink()  # the checkout took it away
    if not file.is_file() or wanted is None:
        return False
    return run(["hash-object", "--", path], worktree).strip() == wanted


def _blobs(worktree: Path, commit: str, paths: list[str]) -> dict[str, str]:
    """path -> blob id of each regular file among `paths` in `commit`'s tree."""
    out = run(["ls-tree", "-z", "--full-tree", commit, "--", *paths], worktree,
              extra_env=_LITERAL)
    found: dict[str, str] = {}
    for entry in filter(None, out.split("\0")):
        info, _, path = entry.partition("\t")
        mode, kind, sha = info.split()
        if kind == "blob" and mode in ("100644", "100755"):
            found[path] = sha
    return found


def _remove_with_empty_folders(worktree: Path, path: str) -> None:
    file = worktree / path
    file.unlink(missing_ok=True)
    folder = file.parent
    while folder != worktree and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
