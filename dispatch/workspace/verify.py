"""Running the project's verify (test) command in a worktree, output to a log."""

from __future__ import annotations

import os
from pathlib import Path

from dispatch.core import procs

VERIFY_TIMEOUT = 30 * 60


def run_verify(command: str, worktree: Path, env: dict[str, str], log: Path) -> bool:
    """Run the user's command with /bin/sh, as written; True when it exits 0."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        out.write(f"$ {command}\n")
        out.flush()
        code = procs.run_in_group(["/bin/sh", "-c", command], worktree, out,
                                  {**os.environ, **env}, VERIFY_TIMEOUT)
        if code is None:
            out.write(f"\n[dispatch] stopped after {VERIFY_TIMEOUT}s\n")
    return code == 0
