"""Starting, waiting for, resuming and stopping a feature's sessions (the supervisor's side).

Only the supervisor launches sessions: `start` and `resume` mark what should run and make
sure a supervisor is there, so a session can never be started twice by two commands.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial

from dispatch import procs
from dispatch.errors import DispatchError
from dispatch.locks import holder_if_locked
from dispatch.paths import FeaturePaths
from dispatch.state import StateStore
from dispatch.state_models import FeatureState, RunSettings

LAUNCH_WAIT = 30.0


def supervisor_pid(paths: FeaturePaths) -> int | None:
    """The pid of the feature's live supervisor, if one runs."""
    return holder_if_locked(paths.lock("supervisor"))


def ensure_supervisor(paths: FeaturePaths) -> subprocess.Popen[bytes] | None:
    """Start a detached supervisor unless one runs (it re-reads the state on every tick, so
    it picks up new work by itself). Returns the process it started, if any."""
    if supervisor_pid(paths) is not None:
        return None
    paths.logs.mkdir(parents=True, exist_ok=True)
    with (paths.logs / "supervisor.log").open("ab") as log:
        return subprocess.Popen([sys.executable, "-m", "dispatch.supervisor", str(paths.root),
                                 paths.feature], cwd=paths.root, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=log, start_new_session=True, close_fds=True)


def set_run(store: StateStore, run: RunSettings, relaunch: tuple[str, ...]) -> FeatureState:
    """Save the run settings; workstreams in `relaunch` statuses are queued again."""
    def change(state: FeatureState) -> FeatureState:
        state.run = run
        for record in state.workstreams.values():
            if record.status in relaunch:
                record.status, record.error, record.retries = "pending", None, 0
        return state

    return store.update(change)


def wait_launched(paths: FeaturePaths, spawned: subprocess.Popen[bytes] | None,
                  timeout: float = LAUNCH_WAIT) -> FeatureState:
    """Until the supervisor has looked at every queued workstream (started it, or said why
    it waits)."""
    store = StateStore(paths)
    deadline = time.monotonic() + timeout
    while True:
        state = store.load()
        if not _undecided(state) or time.monotonic() > deadline:
            return state
        gone = spawned.poll() is not None if spawned else supervisor_pid(paths) is None
        if gone and _undecided(store.load()):
            raise DispatchError("the supervisor stopped before starting the sessions; see "
                                f"{paths.relative(paths.logs / 'supervisor.log')}")
        time.sleep(0.05)


def _undecided(state: FeatureState) -> bool:
    return any(r.status == "pending" and r.error is None for r in state.workstreams.values())


def wait_finished(paths: FeaturePaths, tick: Callable[[FeatureState], None],
                  names: set[str] | None = None, poll: float = 0.2) -> FeatureState:
    """Until the supervisor has exited, or the named workstreams have ended."""
    store = StateStore(paths)
    while True:
        state = store.load()
        tick(state)
        supervised = supervisor_pid(paths) is not None
        watched = [r for r in state.workstreams.values() if names is None or r.name in names]
        busy = any(r.status in ("running", "retrying") or
                   (supervised and r.status in ("pending", "waiting")) for r in watched)
        if not busy and (names is not None or not supervised):
            return state
        time.sleep(poll)


def stop(paths: FeaturePaths, names: list[str] | None) -> list[str]:
    """Mark running sessions stopped, then end their process groups; returns their names."""
    store = StateStore(paths)
    stopped = store.update(partial(_mark_stopped, names=names))
    if names is None:
        pid = supervisor_pid(paths)
        if pid is not None:
            procs.stop_group(pid)
    state = store.load()
    for name in stopped:
        pid = state.workstreams[name].pid
        if pid is not None and procs.is_alive(pid, state.workstreams[name].pid_started):
            procs.stop_group(pid)
    return stopped


def _mark_stopped(state: FeatureState, names: list[str] | None) -> list[str]:
    stopped = []
    for record in state.workstreams.values():
        if (names is None or record.name in names) and record.status in ("running", "retrying"):
            record.status, record.error = "stopped", "stopped by 'dispatch stop'"
            stopped.append(record.name)
    return stopped
