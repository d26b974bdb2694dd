"""Child processes: run in their own process group, checked for life, stopped as a group."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path
from typing import IO


def run_in_group(argv: list[str], cwd: Path, out: IO[str] | IO[bytes], env: dict[str, str],
                 timeout: float | None) -> int | None:
    """Run to completion in a new process group; on timeout stop the whole group -> None."""
    proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_group(proc.pid)
        proc.wait()
        return None
    except BaseException:
        stop_group(proc.pid)
        proc.wait()
        raise


def stop_group(pid: int, grace: float = 5.0) -> None:
    """SIGTERM the process group led by `pid`, then SIGKILL what is left after `grace`."""
    import psutil

    try:
        os.killpg(pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    try:
        members = [p for p in psutil.process_iter(["pid"]) if _group_of(p.pid) == pid]
        _gone, alive = psutil.wait_procs(members, timeout=grace)
    except psutil.Error:
        alive = []
    if alive or _group_exists(pid):
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _group_of(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def _group_exists(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def start_time(pid: int) -> float | None:
    import psutil

    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return None


def is_alive(pid: int | None, started: float | None) -> bool:
    """Whether `pid` still runs and is the same process (not a reused pid)."""
    import psutil

    if pid is None:
        return False
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return started is None or abs(process.create_time() - started) < 1.0
    except psutil.Error:
        return False
