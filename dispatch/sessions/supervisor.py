"""The background process that runs a feature's sessions (one per feature, under a lock).

It starts sessions up to --max-parallel as their dependencies finish, records each run,
retries transient failures by resuming the same session, sends one follow-up when a session
ends with its work incomplete, and exits when nothing can move without a person. Sessions
run in their own process groups with their output in files, so they outlive a supervisor
that dies; the next supervisor adopts them.

Run as `python -m dispatch.sessions.supervisor <repo root> <feature>` (started by
`client.ensure_supervisor`).
"""

from __future__ import annotations

import signal
import sys
import time
import traceback
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import FrameType

from dispatch.core import procs
from dispatch.sessions import launch, scheduler, setup_run, teams
from dispatch.sessions.autopilot import Autopilot
from dispatch.sessions.events import Notifier
from dispatch.sessions.radar import Radar
from dispatch.sessions.run import Run, finish_run, start_run
from dispatch.sessions.watchers import Watchers
from dispatch.state.locks import FileLock
from dispatch.state.model import FeatureState, SessionRecord, now
from dispatch.state.paths import FeaturePaths
from dispatch.state.store import StateStore

POLL_SECONDS = 0.2
LOCK_PATIENCE = 2.0
# How long a finished run's record may fail to be written (a state folder unwritable for a
# moment, a lock held too long) before it is recorded as failed by the simplest write there is.
RECORD_PATIENCE = 30.0
# Consecutive ticks that could not even read the state before the supervisor gives up.
MAX_BROKEN_TICKS = 150


class Supervisor:
    def __init__(self, paths: FeaturePaths) -> None:
        self.paths = paths
        self.store = StateStore(paths)
        self.runs: dict[str, Run] = {}
        self.watchers = Watchers(paths)
        self.notifier = Notifier(paths)
        self.autopilot = Autopilot(paths)
        self.radar = Radar(paths)
        self.setups: dict[str, setup_run.SetupRun] = {}
        self.stopping = False
        self.broken_ticks = 0
        self.unlaunchable: set[str] = set()  # start_run raised for these: not tried again
        self.comparisons = teams.Comparisons(paths)  # of competing teams, in the background

    def run(self) -> None:
        lock = FileLock(self.paths.lock("supervisor"))
        # A moment's patience: a `status` probing the lock holds it for an instant.
        if not lock.acquire(timeout=LOCK_PATIENCE):
            return  # another supervisor already runs this feature
        signal.signal(signal.SIGTERM, self._stop)
        try:
            self._adopt()
            while not self.stopping:
                lock = self._keep(lock)
                if self._tick() and not self.runs and self._finished(lock):
                    self._last_word()
                    return
                time.sleep(POLL_SECONDS)
        finally:
            lock.release()

    def _keep(self, lock: FileLock) -> FileLock:
        """The lock, taken again if its file was deleted or replaced (by a worker: the
        feature folder is theirs to write), so that no second supervisor starts. If one has
        taken the new file already, this one gives way: sessions outlive their supervisor
        and the other one adopts them."""
        if lock.still_here():
            return lock
        fresh = FileLock(self.paths.lock("supervisor"))
        if fresh.acquire(timeout=0):
            lock.release()
            return fresh
        print(f"[{now().isoformat()}] the lock file was replaced and another supervisor "
              "holds it: leaving the work to it", file=sys.stderr, flush=True)
        self.stopping = True
        return lock

    def _tick(self) -> bool:
        """One round of reaping and launching; False when the state could not be used.
        One workstream's failure stays that workstream's (see `_isolated`)."""
        try:
            self._reap_setups()
            state = self.store.load()
            if self._start_setups(state) | self._reap(state):
                state = self.store.load()  # decide on what this tick's endings changed
            self._schedule(state)
            state = self.store.load()  # and once after: what the tick changed
            self.autopilot.tick(self.store, state)
            self.comparisons.tick(state)
            self.radar.tick(self.store, state)
            self.notifier.observe(state, scheduler.over_budget(state))
        except Exception:
            self.broken_ticks += 1
            log_exception("a supervisor tick failed")
            if self.broken_ticks >= MAX_BROKEN_TICKS:
                raise
            return False
        self.broken_ticks = 0
        return True

    def _stop(self, _signum: int, _frame: FrameType | None) -> None:
        self.stopping = True  # sessions keep running; a later supervisor adopts them

    def _finished(self, lock: FileLock) -> bool:
        # Decide and let go of the supervisor lock while holding the state lock: a `resume`
        # that adds work either lands before (and is seen) or finds the lock free.
        with self.store.locked_file():
            state = self.store.load()
            if scheduler.can_progress(state, {*self.runs, *self.setups}, self.unlaunchable) \
                    or self.autopilot.busy(state) or self.comparisons.busy:
                return False
            self.notifier.observe(state, scheduler.over_budget(state))
            self.notifier.finished(state)
            lock.release()
            return True

    def _last_word(self) -> None:
        try:
            self.autopilot.last_word(self.store.load())
        except Exception:
            log_exception("writing the integration report again failed")

    def _adopt(self) -> None:
        """Take over runs left by a supervisor that died: alive ones are watched, dead ones
        are finished from their output files."""
        state = self.store.load()
        for record in state.workstreams.values():
            if record.status == "running":
                self._isolated(record.name, "adopting its run", partial(self._adopt_one, record))
            elif record.status == "setting_up":
                self._isolated(record.name, "adopting its setup",
                               partial(self._adopt_setup, record))

    def _adopt_one(self, record: SessionRecord) -> None:
        pid = record.pid
        if pid is None and record.session_id:
            pid = launch.find_session_process(record.session_id)
            if pid is not None:  # its launcher died before saving the pid: save it now
                self.store.set(record.name, pid=pid, pid_started=procs.start_time(pid))
        run = Run.adopted(self.paths, record, pid)
        if pid is not None and procs.is_alive(pid, record.pid_started if record.pid else None):
            self.runs[record.name] = run
            self.watchers.follow(record.name, run.files.stdout, str(self.paths.root /
                                                                    record.path))
        else:
            self._finish(run, None, orphaned=True)

    def _adopt_setup(self, record: SessionRecord) -> None:
        adopted = setup_run.adopt(self.paths, record)
        if adopted is not None:
            self.setups[record.name] = adopted
            return
        _, exit_file = setup_run.files(self.paths, record.name)
        if exit_file.exists():  # it ended while nobody watched: record what it did
            log, _ = setup_run.files(self.paths, record.name)
            self._record_setup(setup_run.SetupRun(record.name, 0, log, exit_file, 0.0))
        else:  # killed with its supervisor: run it again
            self.store.set(record.name, status="pending", setup=record.setup.model_copy(
                update={"status": "pending", "pid": None}))

    def _start_setups(self, state: FeatureState) -> bool:
        """Start the setups that may start; whether any did."""
        assert state.run is not None
        started = len(self.setups)
        waiting: dict[str, dict[str, object]] = {}
        for name in state.names():
            record = state.workstreams[name]
            if record.setup.status != "pending" or record.status not in ("pending", "waiting"):
                continue
            if len(self.setups) < state.run.setup_jobs:
                self._isolated(name, "starting its setup", partial(self._start_setup, record))
            elif not record.error:
                waiting[name] = {"error": f"its setup waits for a free slot "
                                          f"({state.run.setup_jobs} at once)"}
        if waiting:
            self.store.set_many(waiting)
        return len(self.setups) != started

    def _start_setup(self, record: SessionRecord) -> None:
        started = setup_run.start(self.paths, record)
        self.setups[record.name] = started
        self.store.set(record.name, status="setting_up", error=None,
                       setup=setup_run.running(record, started.pid))

    def _reap_setups(self) -> None:
        for name, run in list(self.setups.items()):
            timed_out = time.monotonic() - run.started > setup_run.SETUP_TIMEOUT
            if timed_out:
                procs.stop_group(run.pid)
            elif not run.ended():
                continue
            if self._isolated(name, "recording its setup",
                              partial(self._record_setup, run, timed_out)):
                del self.setups[name]

    def _record_setup(self, run: setup_run.SetupRun, timed_out: bool = False) -> None:
        state = self.store.load()
        assert state.run is not None
        record = state.workstreams[run.name]
        found = setup_run.result(self.paths, run, record, timed_out)
        allowed = state.run.allow_setup_failure or bool(state.plan.allow_setup_failure)
        if found.status == "ok" or allowed:
            self.store.set(run.name, setup=found, status="pending", error=None)
            return
        why = "timed out" if timed_out else f"exit {found.exit_code}"
        self.store.set(run.name, setup=found, status="setup_failed", error=(
            f"setup `{found.command}` failed ({why}; see {found.log}); its session waits: fix "
            f"it, then 'dispatch setup {state.feature} {run.name}' (or start with "
            "--allow-setup-failure)"))

    def _reap(self, state: FeatureState) -> bool:
        """Record the runs that ended; whether any did."""
        limit = state.run.session_timeout if state.run else None
        ended = False
        for name, run in list(self.runs.items()):
            returncode = run.poll()
            if returncode == Run.STILL_RUNNING:
                run.enforce_timeout(limit)
                continue
            self.watchers.finish(name)
            ended = True
            if self._finish(run, returncode):
                del self.runs[name]
        self.watchers.poll()
        return ended

    def _finish(self, run: Run, returncode: int | None, *, orphaned: bool = False) -> bool:
        """Record a run that ended; False to try again at the next tick."""
        try:
            finish_run(self.paths, self.store, run, returncode, orphaned=orphaned)
            return True
        except Exception as exc:
            log_exception(f"recording {run.name}'s run failed")
            run.record_failures = run.record_failures or time.monotonic()
            if time.monotonic() - run.record_failures < RECORD_PATIENCE:
                return False
            return self._isolated(run.name, "recording its run", partial(
                self.store.set, run.name, status="failed", pid=None, error=(
                    f"dispatch could not record this run ({type(exc).__name__}: {exc}); see "
                    f"{self.paths.relative(self.paths.logs)}/supervisor.log, then 'dispatch "
                    f"resume {run.name}'")))

    def _isolated(self, name: str, what: str, action: Callable[[], object]) -> bool:
        """Run `action` for one workstream; if it raises, that workstream alone is marked
        failed (when the state can be written) and the supervisor goes on."""
        try:
            action()
            return True
        except Exception as exc:
            return self._failed(name, what, exc)

    def _failed(self, name: str, what: str, exc: Exception) -> bool:
        log_exception(f"{what} for {name} failed")
        try:
            self.store.set(name, status="failed", pid=None, error=(
                f"dispatch failed while {what} ({type(exc).__name__}: {exc}); see "
                f"{self.paths.relative(self.paths.logs)}/supervisor.log"))
        except Exception:
            log_exception(f"marking {name} failed failed too")
            return False
        return True

    def _schedule(self, state: FeatureState) -> None:
        # A workstream whose last process is still being reaped is never launched again in
        # the same tick: one session, one process (`tell` stops and requeues it at once).
        skip = self.unlaunchable | set(self.runs)
        launches = [d.name for d in scheduler.decide(state, now(), len(self.runs), skip)
                    if d.action == "launch"]
        for name in launches:
            self._launch(name)
        # Why the others wait, said after the launches so that it names their new status.
        fresh = self.store.load() if launches else state
        notes = [d for d in scheduler.decide(fresh, now(), len(self.runs), skip)
                 if d.action != "launch"]
        if notes:
            self.store.update(partial(_note, decisions=notes))

    def _launch(self, name: str) -> None:
        try:
            run = start_run(self.paths, self.store, name)
        except Exception as exc:
            self.unlaunchable.add(name)  # a second try would only fail the same way
            self._failed(name, "starting its session", exc)
            return
        if run is not None:
            self.runs[name] = run
            self.watchers.follow(name, run.files.stdout, str(self.paths.worktree(name)))


def log_exception(what: str) -> None:
    """A traceback in the supervisor's log (its stderr): the evidence for a bug report."""
    print(f"[{now().isoformat()}] {what}:\n{traceback.format_exc()}", file=sys.stderr,
          flush=True)


def _note(state: FeatureState, decisions: list[scheduler.Decision]) -> None:
    for decision in decisions:
        record = state.workstreams[decision.name]
        if decision.action == "block":
            record.status = "blocked"
        elif decision.action == "wait":
            record.status = "waiting"
        record.error = decision.reason or None


def main(argv: list[str]) -> int:
    root, feature = Path(argv[0]), argv[1]
    Supervisor(FeaturePaths(root, feature)).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
