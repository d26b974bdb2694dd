"""Processes a workstream's runs left working in its worktree: a `nohup cmd &` still in the
run's process group, or a child that escaped into a session of its own. Before a worktree is
removed they are stopped — but only those provably ours: carrying the workstream's own
environment (dispatch sets it for every run, and children inherit it) AND either working in
that folder or in the process group of its recorded run; or working in that folder and in
that group (a child that cleared its environment). Two of the three, since each alone could
be a stranger's: a pid is reused, a person works in the folder, another repository has a
feature of the same name. A process on a terminal is a person's (`dispatch attach`, a
shell): never signalled."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GRACE = 3.0  # seconds between SIGTERM and SIGKILL: time to save work, not to linger


@dataclass(frozen=True)
class Owner:
    """Who may leave processes in `folder`: the environment its runs carry and the process
    groups of its recorded run and setup (each the group of a process dispatch started)."""

    folder: Path
    env: dict[str, str]
    groups: frozenset[int]


@dataclass(frozen=True)
class Stray:
    pid: int
    command: str
    on_terminal: bool
    process: Any  # the psutil.Process found: signalling it checks that the pid was not reused


def find(owners: list[Owner]) -> dict[Path, list[Stray]]:
    """folder -> the processes working in it that are provably its own, in one scan."""
    import psutil

    folders = {owner.folder.resolve(): owner for owner in owners}
    found: dict[Path, list[Stray]] = {owner.folder: [] for owner in owners}
    mine = _self_and_ancestors()
    for process in psutil.process_iter(["pid", "cwd"]):
        if process.pid in mine:
            continue
        cwd = process.info.get("cwd")
        inside = _owner_of(Path(cwd), folders) if cwd else None
        owner = inside or _group_owner(process.pid, owners)
        stray = _stray(process, owner, inside=inside is not None) if owner else None
        if owner is not None and stray is not None:
            found[owner.folder].append(stray)
    return found


def _group_owner(pid: int, owners: list[Owner]) -> Owner | None:
    try:
        group = os.getpgid(pid)
    except OSError:
        return None
    return next((owner for owner in owners if group in owner.groups), None)


def _owner_of(cwd: Path, folders: dict[Path, Owner]) -> Owner | None:
    for place in (cwd, *cwd.parents):
        if place in folders:
            return folders[place]
    return None


def _stray(process: Any, owner: Owner, *, inside: bool) -> Stray | None:
    import psutil

    try:
        with process.oneshot():
            if process.status() == psutil.STATUS_ZOMBIE:
                return None
            env = process.environ()
            named = bool(owner.env) and all(env.get(k) == v for k, v in owner.env.items())
            grouped = os.getpgid(process.pid) in owner.groups
            if [inside, named, grouped].count(True) < 2:
                return None
            return Stray(process.pid, " ".join(process.cmdline())[:120],
                         process.terminal() is not None, process)
    except (psutil.Error, OSError):  # gone, or not ours to read (another user's)
        return None


def _self_and_ancestors() -> set[int]:
    """Never this process nor what runs it (clean started from a worker's own shell)."""
    import psutil

    try:
        return {os.getpid(), *(p.pid for p in psutil.Process().parents())}
    except psutil.Error:
        return {os.getpid()}


def stop(strays: list[Stray], grace: float = GRACE) -> list[Stray]:
    """SIGTERM, then SIGKILL for what is left after `grace`; returns those still running."""
    left = _signal(strays, "terminate")
    deadline = time.monotonic() + grace
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = [s for s in left if _running(s)]
    left = _signal(left, "kill")
    deadline = time.monotonic() + 1.0
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = [s for s in left if _running(s)]
    return left


def _signal(strays: list[Stray], how: str) -> list[Stray]:
    import psutil

    sent = []
    for stray in strays:
        try:
            getattr(stray.process, how)()
            sent.append(stray)
        except psutil.NoSuchProcess:  # ended (or the pid went to another process): done
            pass
        except psutil.Error:
            sent.append(stray)  # not ours to signal after all: reported as still running
    return sent


def _running(stray: Stray) -> bool:
    import psutil

    try:
        return bool(stray.process.is_running() and
                    stray.process.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False
