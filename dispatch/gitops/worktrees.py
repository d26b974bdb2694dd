"""Linked worktrees: listing, registering (one at a time: git races otherwise), removing."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from dispatch.gitops.runner import result, run

EXCLUDE_LINE = "/.worktrees/"


@dataclass(frozen=True)
class Worktree:
    path: Path
    head: str | None
    branch: str | None  # short name, None when detached
    prunable: bool = False
    locked: bool = False


def listed(cwd: Path) -> list[Worktree]:
    """Every worktree of the repository, the main checkout first."""
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
                                  "prunable" in record, "locked" in record))
        record = {}
    return found


def ensure_excluded(git_dir: Path, line: str = EXCLUDE_LINE) -> None:
    """Add `line` to .git/info/exclude once (the user's .gitignore is never edited)."""
    exclude = git_dir / "info" / "exclude"
    text = exclude.read_text() if exclude.is_file() else ""
    if line in text.splitlines():
        return
    exclude.parent.mkdir(parents=True, exist_ok=True)
    with exclude.open("a") as handle:
        handle.write(("" if text.endswith("\n") or not text else "\n") + line + "\n")


def register(root: Path, path: Path, branch: str, *, reclaim: bool) -> None:
    """`git worktree add --no-checkout` (cheap; must run one at a time: git races otherwise).

    `reclaim` re-adds a worktree whose folder was deleted by hand (git still lists it).
    """
    args = ["worktree", "add", "--no-checkout", "--quiet"]
    run([*args, *(["--force"] if reclaim else []), "--", str(path), branch], root)


def remove(root: Path, path: Path) -> None:
    """Remove one of dispatch's own worktrees whatever it holds (callers decided it may go)."""
    result(["worktree", "remove", "--force", "--force", str(path)], root)
    if path.exists():
        shutil.rmtree(path, ignore_errors=True)
    prune(root)


def remove_if_clean(root: Path, path: Path) -> str | None:
    """`git worktree remove` without force: git's own rules decide (no uncommitted or
    untracked files, not locked, no submodules). None when removed, else git's reason."""
    proc = result(["worktree", "remove", "--", str(path)], root)
    if proc.returncode == 0:
        return None
    lines = proc.stderr.strip().splitlines()
    return lines[-1].removeprefix("fatal: ") if lines else "git refused to remove it"


def prune(root: Path) -> None:
    """Forget worktrees whose folders are gone."""
    result(["worktree", "prune"], root)
