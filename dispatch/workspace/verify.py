"""Running the project's verify (test) command in a worktree, output to a log."""

from __future__ import annotations

from pathlib import Path

from dispatch.core import procs

VERIFY_TIMEOUT = 30 * 60


def run_verify(command: str, worktree: Path, env: dict[str, str], log: Path) -> bool:
    """Run the user's command with /bin/sh, as written; True when it exits 0."""
    return procs.run_logged(command, worktree, log, env, VERIFY_TIMEOUT, leave_nothing=True) == 0
