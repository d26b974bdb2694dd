"""The one place git runs: argument lists, an explicit working folder, one error type.

Hot paths call the git executable directly (a subprocess costs ~2 ms). GitPython, which costs
85 ms to import and about three subprocesses a call, is kept to what is not hot and reads
better through its object model: branch reflogs, for `dispatch repair`.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from dispatch.errors import DispatchError

# No credential prompts (they would hang a detached supervisor); status must not take
# index.lock in worktrees that a worker is committing in.
_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_OPTIONAL_LOCKS": "0"}


class GitError(DispatchError):
    def __init__(self, args: list[str], code: int, stderr: str) -> None:
        detail = stderr.strip().splitlines()[-1] if stderr.strip() else "no message"
        super().__init__(f"git {' '.join(args)} failed (exit {code}): {detail}")
        self.code = code
        self.stderr = stderr


def env() -> dict[str, str]:
    return {**os.environ, **_ENV}


def run(args: list[str], cwd: Path, *, check: bool = True,
        extra_env: dict[str, str] | None = None, stdin: str | None = None) -> str:
    """Run `git <args>` in `cwd` and return its stdout (raises GitError on failure)."""
    proc = result(args, cwd, extra_env=extra_env, stdin=stdin)
    if check and proc.returncode != 0:
        raise GitError(args, proc.returncode, proc.stderr)
    return proc.stdout


def result(args: list[str], cwd: Path, extra_env: dict[str, str] | None = None,
           stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    environment = env() if extra_env is None else {**env(), **extra_env}
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              errors="surrogateescape", env=environment, input=stdin,
                              stdin=None if stdin is not None else subprocess.DEVNULL,
                              check=False)
    except FileNotFoundError as exc:
        raise DispatchError("git is not installed or not on PATH; install git") from exc


def ok(args: list[str], cwd: Path) -> bool:
    return result(args, cwd).returncode == 0


def commit_of(cwd: Path, ref: str) -> str | None:
    """The commit a ref or revision names, or None."""
    proc = result(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"],
                  cwd)
    return proc.stdout.strip() if proc.returncode == 0 else None


def is_ancestor(cwd: Path, ancestor: str, descendant: str) -> bool:
    return ok(["merge-base", "--is-ancestor", ancestor, descendant], cwd)


def count_commits(cwd: Path, revision_range: str) -> int:
    return int(run(["rev-list", "--count", revision_range], cwd).strip() or 0)


def local_branches(cwd: Path) -> set[str]:
    return set(branch_tips(cwd))


def branch_tips(cwd: Path) -> dict[str, str]:
    """Every local branch and the commit it points at, in one git call."""
    out = run(["for-each-ref", "--format=%(objectname) %(refname:strip=2)", "refs/heads/"], cwd)
    return {name: sha for sha, _, name in (line.partition(" ") for line in out.splitlines())}


@dataclass(frozen=True)
class Worktree:
    path: Path
    head: str | None
    branch: str | None  # short name, None when detached
    prunable: bool = False


def worktrees(cwd: Path) -> list[Worktree]:
    return parse_worktree_list(run(["worktree", "list", "--porcelain", "-z"], cwd))


def parse_worktree_list(text: str) -> list[Worktree]:
    """Parse `git worktree list --porcelain -z` (records end with an empty field)."""
    found: list[Worktree] = []
    record: dict[str, str] = {}
    for field in text.split("\0"):
        if field:
            key, _, value = field.partition(" ")
            record[key] = value
            continue
        if "worktree" in record:
            branch = record.get("branch", "").removeprefix("refs/heads/") or None
            found.append(Worktree(Path(record["worktree"]), record.get("HEAD"), branch,
                                  "prunable" in record))
        record = {}
    return found


def parse_status_z(text: str) -> list[str]:
    """Paths from `git status --porcelain -z` (a rename's second field is its old path)."""
    paths: list[str] = []
    fields = iter(text.split("\0"))
    for field in fields:
        if len(field) < 4:
            continue
        paths.append(field[3:])
        if field[0] in "RC":
            next(fields, None)
    return paths


def dirty_paths(worktree: Path) -> list[str]:
    return parse_status_z(run(["status", "--porcelain", "-z", "--untracked-files=all"], worktree))


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


def changed_files(cwd: Path, base: str, tip: str) -> list[str]:
    """Files `tip` changed since it left `base` (three-dot: the branch's own changes)."""
    out = run(["diff", "--name-only", "-z", "--no-renames", f"{base}...{tip}"], cwd)
    return [name for name in out.split("\0") if name]


def commit_log(cwd: Path, revision_range: str, limit: int = 50) -> list[tuple[str, str]]:
    """(short sha, subject) of the commits in a range, newest first."""
    out = run(["log", f"--max-count={limit}", "--format=%h%x00%s", revision_range], cwd)
    return [(sha, subject) for sha, _, subject in
            (line.partition("\0") for line in out.splitlines())]


def diffstat(cwd: Path, base: str, tip: str) -> str:
    return run(["diff", "--stat=100", f"{base}...{tip}"], cwd).rstrip()


def creation_commits(cwd: Path, branches: list[str]) -> dict[str, str]:
    """For each branch that still exists, the commit its reflog says it was created at."""
    import git as gitpython

    found: dict[str, str] = {}
    with gitpython.Repo(cwd) as repo:
        for branch in branches:
            if branch in repo.heads:
                entries = repo.heads[branch].log()
                if entries:
                    found[branch] = entries[0].newhexsha
    return found
