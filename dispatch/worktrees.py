"""Git operations on one workstream's branch and worktree, and their undo."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from dispatch import git

EXCLUDE_LINE = "/.worktrees/"


def ref_conflict(branch: str, existing: set[str]) -> str | None:
    """An existing branch that makes `branch` impossible (`f` blocks `f/ws` and back)."""
    parts = branch.split("/")
    for end in range(1, len(parts)):
        prefix = "/".join(parts[:end])
        if prefix in existing:
            return prefix
    return next((name for name in sorted(existing) if name.startswith(branch + "/")), None)


def ensure_excluded(git_dir: Path, line: str = EXCLUDE_LINE) -> None:
    """Add `line` to .git/info/exclude once (the user's .gitignore is never edited)."""
    exclude = git_dir / "info" / "exclude"
    text = exclude.read_text() if exclude.is_file() else ""
    if line in text.splitlines():
        return
    exclude.parent.mkdir(parents=True, exist_ok=True)
    with exclude.open("a") as handle:
        handle.write(("" if text.endswith("\n") or not text else "\n") + line + "\n")


def create_branches(root: Path, commands: list[str]) -> None:
    """Run `git update-ref --stdin` commands as one transaction (all or nothing)."""
    git.run(["update-ref", "--stdin"], root, stdin="".join(commands))


def register(root: Path, path: Path, branch: str, *, reclaim: bool) -> None:
    """`git worktree add --no-checkout` (cheap; must run one at a time: git races otherwise).

    `reclaim` re-adds a worktree whose folder was deleted by hand (git still lists it).
    """
    args = ["worktree", "add", "--no-checkout", "--quiet"]
    git.run([*args, *(["--force"] if reclaim else []), "--", str(path), branch], root)


def checkout(path: Path) -> None:
    """Fill a worktree registered with --no-checkout (index and files; safe to run in parallel).

    Only ever called on dispatch's own worktrees that were never checked out, under the
    feature's start lock: an index.lock there is a dead run's (killed mid-checkout)."""
    remove_stale_index_lock(path)
    # Several checkouts already run side by side: git's own lstat threads only add contention.
    git.run(["-c", "core.preloadIndex=false", "reset", "--hard", "--quiet"], path)


def remove_stale_index_lock(path: Path) -> None:
    """Drop the index.lock a killed git left in one of dispatch's worktrees. Callers hold the
    lock that keeps every other dispatch out, and only call this where no live git can be."""
    stale = path / git.run(["rev-parse", "--git-path", "index.lock"], path).strip()
    stale.unlink(missing_ok=True)


def is_checked_out(path: Path) -> bool:
    """A --no-checkout worktree has an empty index; a real checkout has entries."""
    out = git.result(["ls-files", "-z", "--cached", "--", ":(top)"], path)
    return out.returncode == 0 and bool(out.stdout)


def remove(root: Path, path: Path) -> None:
    git.result(["worktree", "remove", "--force", "--force", str(path)], root)
    if path.exists():
        shutil.rmtree(path, ignore_errors=True)
    git.result(["worktree", "prune"], root)


def delete_branch_if_unchanged(root: Path, branch: str, base: str) -> bool:
    """Delete `branch` only if it still points at `base` (it holds nothing of anyone's)."""
    if git.commit_of(root, f"refs/heads/{branch}") != base:
        return False
    return git.ok(["branch", "-D", "--", branch], root)


class Undo:
    """Steps to take back, newest first, if what follows them fails."""

    def __init__(self) -> None:
        self._steps: list[Callable[[], object]] = []

    def add(self, step: Callable[[], object]) -> None:
        self._steps.append(step)

    def run(self) -> None:
        while self._steps:
            step = self._steps.pop()
            try:
                step()
            except Exception:  # noqa: S110 - undo is best effort; the first error is reported
                pass

    def forget(self) -> None:
        self._steps.clear()
