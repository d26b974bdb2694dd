"""Branches that each add a data segment, as sessions on other machines push them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.gitrepo import commit, git

PATTERN = "claude/segment-*"


class Machine:
    """A clone of the remote that pushes segment branches (one clone serves them all)."""

    def __init__(self, origin: str, folder: Path) -> None:
        self.folder = folder
        git(folder.parent, "clone", "-q", origin, str(folder))

    def push(self, branch: str, files: dict[str, str], message: str | None = None) -> str:
        """A branch from the remote's main (or its own tip, when it exists) with `files`."""
        git(self.folder, "fetch", "-q", "origin")
        ours = git(self.folder, "branch", "--list", branch)
        start = branch if ours else "origin/main"
        git(self.folder, "checkout", "-q", "-B", branch, start)
        tip = commit(self.folder, files, message or f"{branch}: segment")
        git(self.folder, "push", "-q", "origin", f"{branch}:{branch}")
        return tip


def local_branch(repo: Path, branch: str, files: dict[str, str], start: str = "main") -> str:
    """A branch holding `files` on top of `start`, made without touching the checkout."""
    folder = repo.parent / f"wt-{branch.replace('/', '-')}"
    git(repo, "worktree", "add", "-q", "-b", branch, str(folder), start)
    tip = commit(folder, files, f"{branch}: segment")
    git(repo, "worktree", "remove", str(folder))
    return tip


def records(*pairs: tuple[int, str]) -> str:
    return json.dumps([{"id": number, "name": name} for number, name in pairs])


def merged(repo: Path, into: str = "public/merged.json",
           branch: str = "claude-segment/integration") -> object:
    """The output file as committed on the integration branch (read from git)."""
    return json.loads(git(repo, "show", f"{branch}:{into}"))
