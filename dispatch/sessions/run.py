"""One session run from launch to its recorded outcome.

The record is written before the process starts (status `running`, the session id, the
attempt number) and the pid right after: a supervisor killed in between finds the process
again by its session id, so no session is ever started twice.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass, field
from functools import partial

from dispatch.core import procs, render
from dispatch.core.errors import DispatchError
from dispatch.gitops import refs
from dispatch.sessions import (
    claude_cli,
    depsync,
    done_check,
    launch,
    pacing,
    queue,
    radar,
    run_result,
    scheduler,
    transitions,
)
from dispatch.sessions.run_result import RunOutcome
from dispatch.state import picks
from dispatch.state.model import FeatureState, RunSettings, SessionRecord, now
from dispatch.state.paths import FeaturePaths
from dispatch.state.store import StateStore
from dispatch.workspace import briefing, workfiles


@dataclass
class Run:
    STILL_RUNNING = -1000

    name: str
    files: run_result.RunFiles
    pid: int | None
    popen: subprocess.Popen[bytes] | None = None
    started: float = field(default_factory=time.monotonic)
    timed_out: float | None = None
    record_failures: float | None = None  # when recording its end first failed
    attempt: int = 0  # which of the record's runs this is (0: not known)

    @classmethod
    def adopted(cls, paths: FeaturePaths, record: SessionRecord, pid: int | None) -> Run:
        return cls(record.name, run_result.run_files(paths, record.name, record.attempts), pid,
                   attempt=record.attempts)

    def poll(self) -> int | None:
        """The exit code, STILL_RUNNING, or None when it ended but the code is unknown."""
        if self.popen is not None:
            code = self.popen.poll()
            return Run.STILL_RUNNING if code is None else code
        return Run.STILL_RUNNING if procs.is_alive(self.pid, None) else None

    def enforce_timeout(self, limit: float | None) -> None:
        elapsed = time.monotonic() - self.started
        if limit and self.pid and self.timed_out is None and elapsed > limit:
            self.timed_out = elapsed
            procs.stop_group(self.pid)


def start_run(paths: FeaturePaths, store: StateStore, name: str) -> Run | None:
    """Bring dependencies in, then launch; None when the workstream cannot start."""
    state = store.load()
    record = state.workstreams[name]
    worktree = paths.worktree(name)
    if not worktree.is_dir():
        store.set(name, status="failed", error=(
            f"its worktree {paths.relative(worktree)} is missing; run 'dispatch start "
            f"{state.feature}' to recreate it"))
        return None
    if not _dependencies_merged(paths, store, state, record):
        return None
    if record.start_commit is None:
        start = refs.head(worktree)
        store.set(name, start_commit=start)
    return _launch(paths, store, name)


def _dependencies_merged(paths: FeaturePaths, store: StateStore, state: FeatureState,
                         record: SessionRecord) -> bool:
    # A dependency run by teams is merged as its pick (the scheduler waited for one).
    todo = [(dep, picks.dependency_branch(state, dep) or "") for dep in record.depends_on
            if dep not in record.deps_merged]
    if not todo:
        return True
    result = depsync.merge_dependencies(paths.worktree(record.name), record.branch,
                                        state.base, todo)
    store.update(partial(_merged, name=record.name, merged=result.merged))
    if result.problem:
        why = (f"dispatch could not merge its dependencies: {result.problem}; fix that in "
               f"{paths.relative(paths.worktree(record.name))}, then 'dispatch resume "
               f"{record.name}'")
    elif result.dirty:
        why = (f"uncommitted changes in its worktree ({', '.join(result.dirty[:5])}) keep "
               "dispatch from merging its dependencies; commit or stash them, then 'dispatch "
               f"resume {record.name}'")
    elif result.conflict_with:
        why = (f"merging {result.conflict_with} conflicts in {', '.join(result.files)}; "
               f"resolve it in {paths.relative(paths.worktree(record.name))} and commit, "
               f"then 'dispatch resume {record.name}'")
    else:
        return True
    store.set(record.name, status="needs_attention", error=why)
    return False


def _launch(paths: FeaturePaths, store: StateStore, name: str) -> Run | None:
    try:
        state = store.update(partial(_claim, name=name, paths=paths))
    except _NoLongerStartable:
        return None  # stopped or changed by someone since the supervisor decided
    record = state.workstreams[name]
    resume = record.session_created
    prompt = _prompt(paths, state, record, resume)
    argv = claude_cli.argv(launch.session_call(paths, state, record, prompt, resume=resume))
    files = run_result.run_files(paths, name, record.attempts)
    try:
        popen = launch.spawn(argv, paths.worktree(name), launch.session_env(record,
                                                                             state.feature),
                             files, prompt)
    except OSError as exc:
        why = (f"cannot run {argv[0]}: {exc.strerror or exc} — install Claude Code or point "
               "CLAUDE_CLI_PATH at it, then 'dispatch resume --all'")
        store.update(partial(_halt, name=name, why=why))
        return None
    store.set(name, pid=popen.pid, pid_started=procs.start_time(popen.pid))
    return Run(name, files, popen.pid, popen, attempt=record.attempts)


def _prompt(paths: FeaturePaths, state: FeatureState, record: SessionRecord,
            resume: bool) -> str:
    """What the run is told. A message (`tell`, `resume --prompt`, a follow-up) goes to the
    session it continues; a session that must start afresh (it was stopped before the CLI
    saved it) gets its task first, then the message."""
    told = record.resume_prompt
    batch = queue.prompt(paths, state, record, resume)  # and the batch it works on, if any
    if told and resume:
        prompt = f"{told}\n\n{batch}" if batch else told
    else:
        usual = batch or briefing.prompt(
            "resume_prompt.md.j2" if resume else "first_prompt.md.j2", paths, state,
            state.plan.workstream(record.name))
        prompt = f"{usual}\n\n{told}" if told else usual
    collisions = radar.told_text(state, record.name, record.attempts)
    return f"{prompt}\n\n{collisions}" if collisions else prompt


class _NoLongerStartable(Exception):
    pass


def _claim(state: FeatureState, name: str, paths: FeaturePaths) -> FeatureState:
    """Mark the run as started before the process exists (see the module docstring).
    Checked again under the lock: a `stop` or `tell` may have come since the decision."""
    record = state.workstreams[name]
    assert state.run is not None
    if record.status not in scheduler.STARTABLE or state.run.halted:
        raise _NoLongerStartable(name)
    record.session_id = record.session_id or launch.new_session_id()
    record.attempts += 1
    record.status, record.pid, record.error = "running", None, None
    record.worker = state.run.worker
    record.started_at, record.finished_at, record.next_attempt_at = now(), None, None
    record.last_output = paths.relative(run_result.run_files(paths, name, record.attempts).stdout)
    radar.mark_told(state, name, record.attempts)
    return state


def finish_run(paths: FeaturePaths, store: StateStore, run: Run, returncode: int | None, *,
               orphaned: bool = False) -> None:
    """Read the run's output, check its work when it succeeded, and record the outcome.

    `orphaned`: it ended while no supervisor watched (the supervisor died, the machine
    rebooted): without a result it is resumed, since nobody chose to end it.
    """
    outcome = run_result.outcome_of(returncode, run.files)
    if orphaned and outcome.kind == "killed":
        outcome = RunOutcome("crash", transient=True, message=(
            "the session ended with no result while no supervisor was watching it"))
    state = store.load()
    record = state.workstreams[run.name]
    if outcome.session_id and record.session_id and outcome.session_id != record.session_id:
        outcome.problems.append(f"it names session {outcome.session_id[:40]!r}, not this "
                                f"run's {record.session_id}")
    check = follow_up = None
    if outcome.kind == "success":  # even when stopped meanwhile: finished work is recorded
        check, follow_up = _checked_work(paths, state, record)
    store.update(partial(_apply, name=run.name, outcome=outcome, check=check,
                         follow_up=follow_up, timed_out=run.timed_out, attempt=run.attempt))
    if check is not None and check.done:
        _collect_results(paths, run.name)


def _checked_work(paths: FeaturePaths, state: FeatureState,
                  record: SessionRecord) -> tuple[done_check.Check, str | None]:
    """The done check; a worktree git cannot read (a worker replaced its .git, deleted its
    branch) makes the work unchecked, not the supervisor crash."""
    if not state.plan.has(record.name):  # an edited spec dropped it while it ran
        return done_check.Check(0, ["it is no longer in the spec: put it back and run "
                                    f"'dispatch start {state.feature}' to go on with it"]), None
    try:
        return _check_work(paths, state, record)
    except DispatchError as exc:
        return done_check.Check(0, [f"its work could not be checked: {exc.message}"]), None


def _check_work(paths: FeaturePaths, state: FeatureState,
                record: SessionRecord) -> tuple[done_check.Check, str | None]:
    assert state.run is not None
    ws = state.plan.workstream(record.name)
    not_in = [state.base] + [f"refs/heads/{branch}" for d in record.depends_on
                             if (branch := picks.dependency_branch(state, d))]
    log = paths.logs / f"{record.name}.verify.log"
    verify = done_check.Verify(ws.verify or state.plan.verify,
                               launch.session_env(record, state.feature), log,
                               paths.relative(log))
    check = done_check.check(paths.worktree(record.name), record.branch, not_in, verify)
    queue.check_batch(state, record, check)
    follow_up = None
    if state.run.follow_up and not check.done and not record.followed_up:
        context = briefing.context(paths, state, ws)
        follow_up = render.render("follow_up_prompt.md.j2", paths.root, missing=check.missing,
                                  **context).strip()
    return check, follow_up


def _collect_results(paths: FeaturePaths, name: str) -> None:
    """Keep a copy of RESULTS.md beside the state: the report quotes it after cleanup."""
    text = workfiles.read_results(paths.worktree(name))
    if text is not None:
        paths.results.mkdir(exist_ok=True)
        (paths.results / f"{name}.md").write_text(text)


def _apply(state: FeatureState, name: str, outcome: RunOutcome, check: done_check.Check | None,
           follow_up: str | None, timed_out: float | None, attempt: int = 0) -> None:
    assert state.run is not None
    record = state.workstreams[name]
    if attempt and attempt <= record.booked_attempt:
        return  # already recorded (by a supervisor that gave way to this one, say): once only
    record.booked_attempt = max(record.booked_attempt, attempt)
    running = sum(r.status == "running" for r in state.workstreams.values())
    pacing.after_run(state.run, outcome, running, now(), record.started_at)
    if record.status not in ("running", "stopped"):
        # Someone moved on while this run was ending (e.g. `resume --force` queued the next
        # run): book its cost, but its outcome must not overwrite what they decided.
        transitions.record_run(record, outcome, now())
        return
    transitions.apply(record, outcome, state.run, now(), check, follow_up, timed_out)
    queue.after_run(state, name, check)  # its batch booked with this outcome, once
    ended = state.workstreams[name]  # (the same record, as `apply` left it)
    if ended.fixable and ended.status == "failed" and not state.run.halted:
        state.run.halted = f"{name} failed: {ended.error}"  # the others would too
    if state.workstreams[name].status not in ("pending", "retrying"):
        record.resume_prompt = None  # (a follow-up, or a retry of a told run, keeps it)


def _merged(state: FeatureState, name: str, merged: list[str]) -> None:
    record = state.workstreams[name]
    record.deps_merged += [dep for dep in merged if dep not in record.deps_merged]


def _halt(state: FeatureState, name: str, why: str) -> None:
    """The program is missing: every session would fail the same way."""
    assert state.run is not None
    record = state.workstreams[name]
    record.status, record.pid, record.error, record.fixable = "failed", None, why, True
    state.run.halted = f"{name} failed: {why}"


def check_after_a_person(paths: FeaturePaths, store: StateStore, name: str,
                         exit_code: int) -> str:
    """A person left an interactive session (`dispatch attach`): the done check decides
    whether the workstream is done, or stopped and resumable. Returns what it found."""
    state = store.load()
    record = state.workstreams[name]
    check, _ = _checked_work(paths, state.model_copy(update={
        "run": (state.run or RunSettings()).model_copy(update={"follow_up": False})}), record)
    if check.done:
        store.set(name, status="done", error=None, commits=check.commits, tip=check.tip)
        _collect_results(paths, name)
        return f"{name} is done: its work is committed and RESULTS.md is written"
    why = "; ".join(check.missing)
    store.set(name, status="stopped", error=f"after the attached session (exit {exit_code}): "
              f"{why}", commits=check.commits)
    return (f"{name} is stopped ({why}); the supervisor carries on with it after "
            f"'dispatch resume {name}'")
