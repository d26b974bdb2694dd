"""A worktree's setup command (`uv sync`, `npm ci`, ...), run by the supervisor before the
workstream's first session, several at once, so that `dispatch start` returns in seconds.

The command runs in its own process group with its output in `logs/<ws>.setup.log`, and its
exit code goes to `logs/<ws>.setup.exit`: a supervisor that dies mid-setup leaves a process
the next one can adopt (or a code it can read). The user's command is passed to the shell as
an argument, never spliced into a shell string.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from dispatch.core import procs
from dispatch.state.model import SessionRecord, SetupResult, now
from dispatch.state.paths import FeaturePaths

SETUP_TIMEOUT = 30 * 60
# `$1` is the user's command, run by a shell of its own; `$2` receives its exit code.
_WRAPPER = 'sh -c "$1"; code=$?; echo "$code" > "$2"; exit "$code"'


@dataclass
class SetupRun:
    name: str
    pid: int
    log: Path
    exit_file: Path
    started: float  # time.monotonic() when it started (or was adopted)
    popen: subprocess.Popen[bytes] | None = None

    def ended(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is not None
        return not procs.is_alive(self.pid, None)

    def exit_code(self) -> int | None:
        """The command's exit code; None when it was killed (no code was written)."""
        try:
            text = self.exit_file.read_text().strip()
        except OSError:
            return None
        return int(text) if text.lstrip("-").isdigit() else None


def files(paths: FeaturePaths, name: str) -> tuple[Path, Path]:
    log = paths.logs / f"{name}.setup.log"
    return log, log.with_suffix(".exit")


def start(paths: FeaturePaths, record: SessionRecord) -> SetupRun:
    command = record.setup.command
    assert command is not None
    log, exit_file = files(paths, record.name)
    exit_file.unlink(missing_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **{key: str(port) for key, port in record.ports.items()}}
    with log.open("w") as out:
        out.write(f"$ {command}\n")
        out.flush()
        popen = subprocess.Popen(["/bin/sh", "-c", _WRAPPER, "dispatch-setup", command,
                                  str(exit_file)], cwd=paths.root / record.path, env=env,
                                 stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                 start_new_session=True)
    return SetupRun(record.name, popen.pid, log, exit_file, time.monotonic(), popen)


def adopt(paths: FeaturePaths, record: SessionRecord) -> SetupRun | None:
    """The setup a dead supervisor started, still running; None when it is not running."""
    pid = record.setup.pid
    if pid is None or not procs.is_alive(pid, None):
        return None
    log, exit_file = files(paths, record.name)
    return SetupRun(record.name, pid, log, exit_file, time.monotonic())


def result(paths: FeaturePaths, run: SetupRun, record: SessionRecord,
           timed_out: bool = False) -> SetupResult:
    code = None if timed_out else run.exit_code()
    if timed_out:
        with run.log.open("a") as out:
            out.write(f"\n[dispatch] setup stopped after {SETUP_TIMEOUT}s\n")
    started = record.setup.started_at
    seconds = (now() - started).total_seconds() if started else None
    return SetupResult(command=record.setup.command, status="ok" if code == 0 else "failed",
                       exit_code=code, log=paths.relative(run.log), seconds=seconds)


def running(record: SessionRecord, pid: int) -> SetupResult:
    return record.setup.model_copy(update={"status": "running", "pid": pid,
                                           "started_at": now()})
