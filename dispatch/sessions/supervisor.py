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
from functools import partial
from pathlib import Path
from types import FrameType

from dispatch.core import procs
from dispatch.sessions import launch, scheduler
from dispatch.sessions.run import Run, finish_run, start_run
from dispatch.state.locks import FileLock
from dispatch.state.model import FeatureState, now
from dispatch.state.paths import FeaturePaths
from dispatch.state.store import StateStore

POLL_SECONDS = 0.2
LOCK_PATIENCE = 2.0


class Supervisor:
    def __init__(self, paths: FeaturePaths) -> None:
        self.paths = paths
        self.store = StateStore(paths)
        self.runs: dict[str, Run] = {}
        self.stopping = False

    def run(self) -> None:
        lock = FileLock(self.paths.lock("supervisor"))
        # A moment's patience: a `status` probing the lock holds it for an instant.
        if not lock.acquire(timeout=LOCK_PATIENCE):
            return  # another supervisor already runs this feature
        signal.signal(signal.SIGTERM, self._stop)
        try:
            self._adopt()
            while not self.stopping:
                self._reap()
                self._schedule()
                if not self.runs and self._finished(lock):
                    return
                time.sleep(POLL_SECONDS)
        finally:
            lock.release()

    def _stop(self, _signum: int, _frame: FrameType | None) -> None:
        self.stopping = True  # sessions keep running; a later supervisor adopts them

    def _finished(self, lock: FileLock) -> bool:
        # Decide and let go of the supervisor lock while holding the state lock: a `resume`
        # that adds work either lands before (and is seen) or finds the lock free.
        with self.store.locked_file():
            if scheduler.can_progress(self.store.load(), set(self.runs)):
                return False
            lock.release()
            return True

    def _adopt(self) -> None:
        """Take over runs left by a supervisor that died: alive ones are watched, dead ones
        are finished from their output files."""
        state = self.store.load()
        for record in state.workstreams.values():
            if record.status != "running":
                continue
            pid = record.pid
            if pid is None and record.session_id:
                pid = launch.find_session_process(record.session_id)
                if pid is not None:  # its launcher died before saving the pid: save it now
                    self.store.set(record.name, pid=pid, pid_started=procs.start_time(pid))
            run = Run.adopted(self.paths, record, pid)
            if pid is not None and procs.is_alive(pid, record.pid_started if record.pid else
                                                  None):
                self.runs[record.name] = run
            else:
                finish_run(self.paths, self.store, run, returncode=None, orphaned=True)

    def _reap(self) -> None:
        for name, run in list(self.runs.items()):
            returncode = run.poll()
            if returncode == Run.STILL_RUNNING:
                run.enforce_timeout(self._timeout())
                continue
            del self.runs[name]
            finish_run(self.paths, self.store, run, returncode)

    def _timeout(self) -> float | None:
        state = self.store.load()
        return state.run.session_timeout if state.run else None

    def _schedule(self) -> None:
        for decision in scheduler.decide(self.store.load(), now(), len(self.runs)):
            if decision.action == "launch":
                run = start_run(self.paths, self.store, decision.name)
                if run is not None:
                    self.runs[decision.name] = run
        # Why the others wait, said after the launches so that it names their new status.
        notes = [d for d in scheduler.decide(self.store.load(), now(), len(self.runs))
                 if d.action != "launch"]
        if notes:
            self.store.update(partial(_note, decisions=notes))


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
