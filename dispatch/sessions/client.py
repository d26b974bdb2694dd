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

from dispatch.core import procs
from dispatch.core.errors import DispatchError
from dispatch.sessions import scheduler
from dispatch.sessions.run import Run, finish_run
from dispatch.state.locks import FileLock, holder_if_locked
from dispatch.state.model import FeatureState, RunSettings, SessionRecord
from dispatch.state.paths import FeaturePaths
from dispatch.state.store import StateStore

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
        return subprocess.Popen([sys.executable, "-m", "dispatch.sessions.supervisor",
                                 str(paths.root), paths.feature], cwd=paths.root,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True, close_fds=True)


class Supervision:
    """A command's view of the feature's supervisor while it waits on it.

    A supervisor it started counts as running before it has taken its lock; one that lost
    the lock to another supervisor is no loss; and when none is left while work could still
    move (it crashed, or was killed), waiting starts a new one instead of giving up.
    """

    RESTARTS = 3

    def __init__(self, paths: FeaturePaths) -> None:
        self.paths = paths
        self.spawned = ensure_supervisor(paths)
        self.restarts = 0

    def alive(self) -> bool:
        if supervisor_pid(self.paths) is not None:
            return True
        return self.spawned is not None and self.spawned.poll() is None

    def settled(self) -> bool:
        """The supervisor this command started holds its lock, or is gone (it lost the lock
        to another one, or had nothing to do): what `status` shows now names it."""
        return self.spawned is None or self.spawned.poll() is not None or \
            supervisor_pid(self.paths) is not None

    def keep_going(self, state: FeatureState) -> bool:
        """Whether a supervisor is (again) on the job."""
        if self.alive():
            return True
        if self.restarts >= self.RESTARTS or not needs_supervisor(state):
            return False
        self.restarts += 1
        self.spawned = ensure_supervisor(self.paths)
        return True


def set_run(store: StateStore, run: RunSettings) -> list[str]:
    """Save the run settings and queue again what a new `start` carries on with by itself;
    returns the names queued (to run, or to set up first)."""
    def change(state: FeatureState) -> list[str]:
        state.run = run  # a new start lifts an earlier halt: the person is there again
        queued = []
        for record in state.workstreams.values():
            if relaunchable(record):
                record.status, record.error, record.retries = "pending", None, 0
                record.fixable = False
                queued.append(record.name)
        return queued

    return store.update(change)


def relaunchable(record: SessionRecord) -> bool:
    """What a new `start` of a feature carries on with: work that was queued or died without
    anyone choosing so, and failures outside the workstream that a person has fixed since
    (a login). Stopped or unfinished work waits for `dispatch resume`."""
    return record.status in ("pending", "interrupted", "setup_failed") or (
        record.status == "failed" and record.fixable)


def wait_launched(supervision: Supervision, timeout: float = LAUNCH_WAIT) -> FeatureState:
    """Until the supervisor has looked at every queued workstream (started it, with its pid
    recorded, or said why it waits)."""
    store = StateStore(supervision.paths)
    deadline = time.monotonic() + timeout
    while True:
        state = store.load()
        if (not _undecided(state) and supervision.settled()) or time.monotonic() > deadline:
            return state
        if not supervision.keep_going(state) and _undecided(store.load()):
            raise DispatchError("the supervisor stopped before starting the sessions; see "
                                f"{supervision.paths.relative(supervision.paths.logs)}"
                                "/supervisor.log")
        time.sleep(0.05)


def _undecided(state: FeatureState) -> bool:
    """A queued workstream the supervisor has not looked at yet, or one it is launching:
    `running` is recorded before the process exists, its pid just after (see sessions/run.py).
    Waiting for the pid too means a command that returns has launched what it reports. One
    whose setup is still to run is decided: the supervisor sets it up first, however long
    that takes, and `start` does not wait for it."""
    return any((r.status == "pending" and r.error is None and
                r.setup.status not in ("pending", "running")) or
               (r.status == "running" and r.pid is None) for r in state.workstreams.values())


def wait_finished(supervision: Supervision, tick: Callable[[FeatureState], None],
                  names: set[str] | None = None, poll: float = 0.2) -> FeatureState:
    """Until the supervisor has exited, or the named workstreams have ended."""
    store = StateStore(supervision.paths)
    while True:
        state = store.load()
        tick(state)
        if not supervision.keep_going(state):
            # Nobody will change these records any more (a record that says `running` with
            # no supervisor is one that no live process owns): stop waiting, say what is.
            return state
        watched = [r for r in state.workstreams.values() if names is None or r.name in names]
        busy = any(r.status in ("running", "retrying", "pending", "waiting") for r in watched)
        if not busy and names is not None:
            return state
        time.sleep(poll)


def needs_supervisor(state: FeatureState) -> bool:
    """Work that only a supervisor moves on: a run to record, a retry, a launch."""
    return scheduler.can_progress(state, set()) or any(
        r.status in ("running", "retrying") for r in state.workstreams.values())


def stop(paths: FeaturePaths, names: list[str] | None) -> list[str]:
    """Mark running sessions (and setups) stopped, then end their process groups; returns
    their names."""
    store = StateStore(paths)
    before = store.load()
    stopped = store.update(partial(_mark_stopped, names=names))
    if names is None:
        pid = supervisor_pid(paths)
        if pid is not None:
            procs.stop_group(pid)
    state = store.load()
    for name in stopped:
        record, earlier = state.workstreams[name], before.workstreams[name]
        if record.pid is not None and procs.is_alive(record.pid, record.pid_started):
            procs.stop_group(record.pid)
        if earlier.status == "setting_up" and earlier.setup.pid is not None:
            procs.stop_group(earlier.setup.pid)
    return stopped


def _mark_stopped(state: FeatureState, names: list[str] | None) -> list[str]:
    stopped = []
    for record in state.workstreams.values():
        ended = record.status == "running" and not procs.is_alive(record.pid,
                                                                  record.pid_started)
        chosen = names is None or record.name in names
        if chosen and record.status == "setting_up":  # its setup runs again on resume
            record.setup = record.setup.model_copy(update={"status": "pending", "pid": None})
            record.status, record.error = "stopped", "stopped by 'dispatch stop' during setup"
            stopped.append(record.name)
        elif chosen and record.status in ("running", "retrying") and not ended:
            # (a run that already ended keeps its outcome)
            record.status, record.error = "stopped", "stopped by 'dispatch stop'"
            stopped.append(record.name)
    return stopped


def reconcile(paths: FeaturePaths) -> None:
    """Record the runs that ended while no supervisor watched (it was killed, the machine
    restarted): their records still say `running`. Done here, under the supervisor's lock,
    so that a command deciding what to resume sees what those runs really did."""
    store = StateStore(paths)
    dead = [r for r in store.load().workstreams.values()
            if r.status == "running" and not procs.is_alive(r.pid, r.pid_started)]
    if not dead:
        return
    lock = FileLock(paths.lock("supervisor"))
    if not lock.acquire(timeout=0):
        return  # a supervisor is there: it records them itself
    try:
        for record in dead:
            finish_run(paths, store, Run.adopted(paths, record, None), None, orphaned=True)
    finally:
        lock.release()
