"""Child processes: run in their own process group, checked for life, stopped as a group."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from functools import cache
from pathlib import Path
from typing import IO, Any


def run_in_group(argv: list[str], cwd: Path, out: IO[str] | IO[bytes], env: dict[str, str],
                 timeout: float | None, *, leave_nothing: bool = False) -> int | None:
    """Run to completion in a new process group; on timeout stop the whole group -> None.
    `leave_nothing`: once it ends, what it left running in its group is stopped too."""
    proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    try:
        code = proc.wait(timeout=timeout)
        if leave_nothing:
            stop_group(proc.pid, grace=1.0)
        return code
    except subprocess.TimeoutExpired:
        stop_group(proc.pid)
        proc.wait()
        return None
    except BaseException:
        stop_group(proc.pid)
        proc.wait()
        raise


def run_logged(command: str, cwd: Path, log: Path, env: dict[str, str],
               timeout: float, *, leave_nothing: bool = False) -> int | None:
    """Run a user's shell command (setup, verify) as written, output to `log` after a
    `$ command` line; its exit code, or None when it was stopped after `timeout` seconds.
    `leave_nothing`: see `run_in_group` (a verify's leftovers are garbage; a setup may start
    something on purpose)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        out.write(f"$ {command}\n")
        out.flush()
        code = run_in_group(["/bin/sh", "-c", command], cwd, out, {**os.environ, **env},
                            timeout, leave_nothing=leave_nothing)
        if code is None:
            out.write(f"\n[dispatch] stopped after {timeout:.0f}s\n")
    return code


def stop_group(pid: int, grace: float = 5.0) -> None:
    """End the process led by `pid`: its group, and every descendant that left the group
    (claude runs each Bash tool command in a group of its own). SIGTERM first, SIGKILL for
    what is left after `grace`; returns once nothing of it runs (a SIGKILL lands a moment
    after it is sent). Nothing is reaped here: the caller's Popen keeps the exit status of
    its own child."""
    family = _family(pid)
    _signal_all(pid, family, signal.SIGTERM)
    _wait_gone(family, grace)
    _signal_all(pid, [p for p in family if _running(p)], signal.SIGKILL)
    _wait_gone(family, 1.0)


def _family(pid: int) -> list[Any]:
    """The leader's descendants, and the members of its group: once the leader has ended
    (and was reaped), what it left in the background is found only by its group id."""
    import psutil

    family: dict[int, Any] = {}
    try:
        leader = psutil.Process(pid)
        family.update((p.pid, p) for p in [leader, *leader.children(recursive=True)])
    except psutil.Error:
        pass
    for process in psutil.process_iter():
        try:
            if process.pid not in family and os.getpgid(process.pid) == pid:
                family[process.pid] = process
        except OSError:
            pass
    return list(family.values())


def _wait_gone(family: list[Any], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(_running(p) for p in family):
        time.sleep(0.05)


def _signal_all(pgid: int, processes: list[Any], signum: int) -> None:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        pass
    for process in processes:
        try:
            process.send_signal(signum)
        except Exception:
            pass


def _running(process: Any) -> bool:
    import psutil

    try:
        return bool(process.is_running() and process.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


def start_time(pid: int) -> float | None:
    if _proc_readable():
        found = _from_proc(pid)
        return found[1] if found is not None else None
    import psutil

    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return None


def is_alive(pid: int | None, started: float | None) -> bool:
    """Whether `pid` still runs and is the same process (not a reused pid)."""
    if pid is None:
        return False
    if not _proc_readable():
        return _is_alive_psutil(pid, started)
    found = _from_proc(pid)
    if found is None or found[0] in "ZXx":  # gone, a zombie, or dead
        return False
    return started is None or abs(found[1] - started) < 1.0


# Linux: a process's state and start time read from /proc/<pid>/stat, as psutil reads them
# (so times recorded by either compare), without importing psutil: `status` asks this of
# every running workstream, and psutil's import costs more than all the reads.
_PROC = Path("/proc")


def _from_proc(pid: int) -> tuple[str, float] | None:
    """(state letter, start time in seconds since the epoch), or None when unreadable."""
    try:
        stat = (_PROC / str(pid) / "stat").read_bytes()
        fields = stat[stat.rindex(b")") + 2:].split()  # the name may hold spaces and ")"
        return fields[0].decode(), int(fields[19]) / _clock_ticks() + _boot_time()
    except (OSError, ValueError, IndexError):
        return None


@cache
def _proc_readable() -> bool:
    """A Linux /proc, as psutil reads it (another system's procfs is left to psutil)."""
    return _from_proc(os.getpid()) is not None


@cache
def _clock_ticks() -> int:
    return os.sysconf("SC_CLK_TCK")


@cache
def _boot_time() -> float:
    for line in (_PROC / "stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise ValueError("no btime in /proc/stat")


def _is_alive_psutil(pid: int, started: float | None) -> bool:
    import psutil

    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        return started is None or abs(process.create_time() - started) < 1.0
    except psutil.Error:
        return False


def anyone_working_in(folder: Path) -> bool:
    """Whether a live process (other than this one) has its working folder in `folder`:
    a git that works there runs there."""
    import psutil

    inside = folder.resolve()
    for process in psutil.process_iter(["pid", "cwd", "status"]):
        cwd = process.info.get("cwd")
        if process.pid == os.getpid() or not cwd or \
                process.info.get("status") == psutil.STATUS_ZOMBIE:
            continue
        if Path(cwd) == inside or inside in Path(cwd).parents:
            return True
    return False
