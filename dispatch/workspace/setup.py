"""The project's setup command (e.g. `uv sync`), run in each new worktree.

The command is the user's own (from --setup or the spec's frontmatter) and is run by /bin/sh
exactly as written; nothing from dispatch is ever spliced into it. A failing or missing
command is recorded on the workstream and the run goes on.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from dispatch.core import procs
from dispatch.state.model import SetupResult

SETUP_TIMEOUT = 30 * 60


def detect(worktree: Path) -> str | None:
    """A setup command implied by the project's lock files, if its tool is installed."""
    if (worktree / "uv.lock").is_file() and shutil.which("uv"):
        return "uv sync"
    if (worktree / "package-lock.json").is_file() and shutil.which("npm"):
        return "npm ci"
    return None


def run_setup(command: str, worktree: Path, log: Path, env: dict[str, str],
              log_name: str, timeout: float = SETUP_TIMEOUT) -> SetupResult:
    started = time.monotonic()
    code = procs.run_logged(command, worktree, log, env, timeout)
    return SetupResult(command=command, status="ok" if code == 0 else "failed",
                       exit_code=code, log=log_name,
                       seconds=round(time.monotonic() - started, 2))
