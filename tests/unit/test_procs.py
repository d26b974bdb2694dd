"""Is a recorded process still the one that runs? Read from /proc as psutil reads it (status
asks it of every running workstream without importing psutil), so that times recorded by
either compare."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import psutil

from dispatch.core import procs


def test_a_running_process_is_alive_and_known_by_its_start(tmp_path: Path) -> None:
    odd = tmp_path / "we) ird (name"  # a name with spaces and parentheses, as /proc shows it
    shutil.copy(shutil.which("sleep") or "/bin/sleep", odd)
    child = subprocess.Popen([str(odd), "30"])
    try:
        started = procs.start_time(child.pid)
        assert started == psutil.Process(child.pid).create_time()
        assert procs.is_alive(child.pid, started)
        assert procs.is_alive(child.pid, None)
        assert not procs.is_alive(child.pid, started - 5)  # the pid, reused by another
    finally:
        child.kill()
    assert_ended(child)


def assert_ended(child: subprocess.Popen[bytes]) -> None:
    # Killed and not reaped yet: a zombie (once the signal has landed) has ended.
    deadline = time.monotonic() + 5
    while procs.is_alive(child.pid, None) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert psutil.Process(child.pid).status() == psutil.STATUS_ZOMBIE
    assert not procs.is_alive(child.pid, None)
    child.wait()  # reaped: gone
    assert not procs.is_alive(child.pid, None)
    assert procs.start_time(child.pid) is None


def test_no_pid_is_not_alive() -> None:
    assert not procs.is_alive(None, None)
