"""Merging in memory (`merge-tree` + `commit-tree`): no checkout, no hooks, no user merge
settings; the result is checked out by a fast-forward where one is needed."""

from __future__ import annotations

from pathlib import Path

from dispatch.gitops.runner import GitError, result, run


def merge_tree(cwd: Path, ours: str, theirs: str) -> tuple[str | None, list[str]]:
    """Merge two commits in memory (`git merge-tree --write-tree`, no worktree touched).

    Returns (tree, []) when clean, (None, conflicted files) otherwise.
    """
    proc = result(["merge-tree", "--write-tree", "-z", "--name-only", "--no-messages",
                   ours, theirs], cwd)
    fields = [f for f in proc.stdout.split("\0") if f]
    if proc.returncode == 0:
        return fields[0], []
    if proc.returncode == 1:
        return None, fields[1:]
    raise GitError(["merge-tree", ours, theirs], proc.returncode, proc.stderr)


def commit_tree(cwd: Path, tree: str, parents: list[str], message: str) -> str:
    """A commit of `tree` with these parents. Never signed: dispatch's merges are mechanical
    and made by a detached process that no key agent prompt could reach (README: signing)."""
    args = ["commit-tree", "--no-gpg-sign", tree,
            *[arg for parent in parents for arg in ("-p", parent)], "-m", message]
    return run(args, cwd).strip()


def merge_base(cwd: Path, a: str, b: str) -> str | None:
    """The best common ancestor of two commits, or None when their histories are unrelated."""
    proc = result(["merge-base", a, b], cwd)
    return proc.stdout.strip() if proc.returncode == 0 else None
