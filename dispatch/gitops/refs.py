"""Branches and commits: reading refs, ancestry, and changing branches in one transaction."""

from __future__ import annotations

from pathlib import Path

from dispatch.gitops.runner import GitError, ok, result, run


def commit_of(cwd: Path, ref: str) -> str | None:
    """The commit a ref or revision names, or None."""
    proc = result(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"],
                  cwd)
    return proc.stdout.strip() if proc.returncode == 0 else None


def branch_commit(cwd: Path, branch: str) -> str | None:
    """The commit a local branch points at, or None when there is no such branch."""
    return commit_of(cwd, f"refs/heads/{branch}")


def head(cwd: Path) -> str:
    """The commit checked out in `cwd` (raises when there is none)."""
    return run(["rev-parse", "HEAD"], cwd).strip()


def is_ancestor(cwd: Path, ancestor: str, descendant: str) -> bool:
    return ok(["merge-base", "--is-ancestor", ancestor, descendant], cwd)


def count_commits(cwd: Path, revision_range: str) -> int:
    return int(run(["rev-list", "--count", revision_range], cwd).strip() or 0)


def count_own_commits(cwd: Path, revision: str, not_in: list[str]) -> int:
    """Commits reachable from `revision` and from none of `not_in`, merges left out: a
    workstream's own work, not the merges that brought its dependencies in."""
    return int(run(["rev-list", "--count", "--no-merges", revision, "--not", *not_in],
                   cwd).strip() or 0)


def local_branches(cwd: Path) -> set[str]:
    return set(branch_tips(cwd))


def branch_tips(cwd: Path, pattern: str = "refs/heads/") -> dict[str, str]:
    """Every local branch and the commit it points at, in one git call."""
    out = run(["for-each-ref", "--format=%(objectname) %(refname:strip=2)", pattern], cwd)
    return {name: sha for sha, _, name in (line.partition(" ") for line in out.splitlines())}


def branches_containing(cwd: Path, commit: str) -> list[str]:
    """Local branches whose history holds `commit`."""
    return run(["branch", "--format=%(refname:short)", "--contains", commit], cwd).split()


def update_refs(root: Path, commands: list[str]) -> None:
    """Run `git update-ref --stdin` commands as one transaction (all or nothing)."""
    run(["update-ref", "--stdin"], root, stdin="".join(commands))


def create_branches(root: Path, branches: list[str], start: str) -> None:
    """Create every branch at `start` in one transaction: all are made, or none."""
    if branches:
        update_refs(root, [f"create refs/heads/{branch} {start}\n" for branch in branches])


def delete_branch(root: Path, branch: str) -> None:
    run(["branch", "-D", "--", branch], root)


def delete_branch_if_unchanged(root: Path, branch: str, base: str) -> bool:
    """Delete `branch` only if it still points at `base` (it holds nothing of anyone's)."""
    if branch_commit(root, branch) != base:
        return False
    return ok(["branch", "-D", "--", branch], root)


def ref_conflict(branch: str, existing: set[str]) -> str | None:
    """An existing branch that makes `branch` impossible (`f` blocks `f/ws` and back)."""
    parts = branch.split("/")
    for end in range(1, len(parts)):
        prefix = "/".join(parts[:end])
        if prefix in existing:
            return prefix
    return next((name for name in sorted(existing) if name.startswith(branch + "/")), None)


def current_branch(worktree: Path) -> str | None:
    """The branch checked out at `worktree`, or None when HEAD is detached."""
    args = ["symbolic-ref", "-q", "--short", "HEAD"]
    proc = result(args, worktree)
    if proc.returncode > 1:  # not "detached" (1) but git failing: a broken worktree
        raise GitError(args, proc.returncode, proc.stderr)
    return proc.stdout.strip() if proc.returncode == 0 else None


def move_branch(root: Path, branch: str, new: str, old: str) -> None:
    """Point `branch` at `new`, only if it still points at `old` (no lost update)."""
    run(["update-ref", "-m", "dispatch: move the branch to its worktree's commits",
         f"refs/heads/{branch}", new, old], root)


def count_commits_outside(cwd: Path, commit: str, leaving: list[str]) -> int:
    """Commits reachable from `commit` that no local branch has, the branches `leaving` aside
    (those about to be deleted): what would be lost if they and `commit` went."""
    excludes = [f"--exclude={branch}" for branch in leaving]
    return int(run(["rev-list", "--count", commit, "--not", *excludes, "--branches"],
                   cwd).strip() or 0)
