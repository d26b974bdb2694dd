"""Merging: in memory (`merge-tree` + `commit-tree`, no checkout) and in a worktree."""

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
    args = ["commit-tree", tree, *[arg for parent in parents for arg in ("-p", parent)],
            "-m", message]
    return run(args, cwd).strip()


def merge_into_checkout(worktree: Path, branch: str, message: str) -> list[str] | None:
    """`git merge` of `branch` into the branch checked out at `worktree`. None when it
    merged; else the conflicted files (the merge is then aborted)."""
    proc = result(["merge", "--no-edit", "-m", message, f"refs/heads/{branch}"], worktree)
    if proc.returncode == 0:
        return None
    files = conflicted_files(worktree)
    abort_merge(worktree)
    return files


def conflicted_files(worktree: Path) -> list[str]:
    out = run(["diff", "--name-only", "-z", "--diff-filter=U"], worktree, check=False)
    return [name for name in out.split("\0") if name]


def abort_merge(worktree: Path) -> None:
    result(["merge", "--abort"], worktree)
