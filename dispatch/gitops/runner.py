"""The git runner: every git command dispatch runs goes through `run` or `result`.

Argument lists only (never a shell string), an explicit working folder, and one error type
that shows the command, its exit code and git's own last line of stderr. Hot paths call the
git executable directly (a subprocess costs ~2 ms); the named functions of this folder's
other modules build the argument lists.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from dispatch.core.errors import DispatchError

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
        # The same error for a missing program and a missing working folder.
        if not Path(cwd).is_dir():
            raise DispatchError(f"{cwd} does not exist (any more); git cannot run "
                                "there") from exc
        raise DispatchError("git is not installed or not on PATH; install git") from exc
    except NotADirectoryError as exc:
        raise DispatchError(f"{cwd} is not a folder; git cannot run there") from exc


def run_bytes(args: list[str], cwd: Path, *, stdin: bytes | None = None) -> bytes:
    """`run` for file contents: stdin and stdout as bytes, exactly as git reads and writes
    them (text mode would decode them and translate line endings)."""
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, env=env(),
                              input=stdin, stdin=None if stdin is not None else
                              subprocess.DEVNULL, check=False)
    except OSError:
        result(["--version"], cwd)  # the same one-line error as any other git command
        raise
    if proc.returncode != 0:
        raise GitError(args, proc.returncode, proc.stderr.decode("utf-8", "replace"))
    return proc.stdout


def ok(args: list[str], cwd: Path) -> bool:
    return result(args, cwd).returncode == 0
