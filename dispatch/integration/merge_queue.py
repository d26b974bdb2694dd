"""`dispatch integrate`: every workstream's branch merged into `<feature>/integration`.

Merges are computed in memory (`git merge-tree --write-tree` + `git commit-tree`): the same
result as `git merge --no-ff -m "Merge <ws> workstream"` — same tree, parents and message —
without a checkout per merge. The integration worktree is moved forward once at the end, or
after every merge when a verify command runs there; a merge that breaks it is taken back out.
Re-running merges only branches that are new or moved since the last run.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path

from dispatch.core.errors import DispatchError, NothingToIntegrate
from dispatch.core.parallel import parallel_map
from dispatch.gitops import history, merges, refs
from dispatch.integration import batches, candidate, checkout, conflicts, own_work, repick
from dispatch.state import picks
from dispatch.state.locks import try_lock
from dispatch.state.model import FeatureState, IntegrationState, MergeRecord, now
from dispatch.state.paths import FeaturePaths
from dispatch.state.plan import dependency_order
from dispatch.state.store import StateStore
from dispatch.workspace.verify import run_verify

Progress = Callable[[str], None]
# A verify slower than this (seconds, on the branch before any merge) makes merges go in
# batches, unless --batch / --no-batch says otherwise.
BATCH_AFTER = 5.0


@dataclass
class IntegrateOptions:
    include: tuple[str, ...] = ("done",)
    only: list[str] | None = None
    verify: str | None = None
    stop_on_conflict: bool = False
    force: bool = False
    tips: dict[str, str] = field(default_factory=dict)  # e.g. fetched from a remote
    batch: bool | None = None  # merge and verify several at once (None: when verify is slow)
    verify_jobs: int = 2  # verify runs at once while bisecting a red batch


@dataclass
class Outcome:
    state: FeatureState
    prediction: conflicts.Prediction
    merged_now: list[str]
    left_out: list[str]  # chosen for this run and not in the integration branch


def integrate(paths: FeaturePaths, options: IntegrateOptions,
              progress: Progress = lambda _m: None) -> Outcome:
    lock = try_lock(paths.lock("integrate"), f"feature '{paths.feature}' is busy: another "
                    "'dispatch integrate' is running", "wait for it to finish")
    try:
        return _integrate(paths, options, progress)
    finally:
        lock.release()


def _integrate(paths: FeaturePaths, options: IntegrateOptions, progress: Progress) -> Outcome:
    store = StateStore(paths)
    repick.finish_pending(paths, store)  # a change of pick cut short is finished first
    state = store.load()
    tips = branch_tips(paths, state, options.tips)
    queue = _queue(state, options)
    # The prediction only reads; it runs while the integration worktree is checked out.
    predicting = threading.Thread(target=lambda: found.append(predict(paths, state, tips)))
    found: list[conflicts.Prediction] = []
    predicting.start()
    try:
        integration = _prepare_tree(store, state, options.force)
    finally:
        predicting.join()
    prediction = found[0]
    verify = options.verify or state.plan.verify
    worktree = paths.root / integration.path
    try:
        seconds = _expect_green_start(paths, integration, worktree, verify, progress)
    except DispatchError:
        if state.integration is None:  # take back what this run made: nothing half-made
            checkout.remove(paths, integration, state.base)
            store.update(partial(_forget_integration, updated_at=state.updated_at),
                         touch=False)
        raise
    batch = options.batch if options.batch is not None else seconds >= BATCH_AFTER
    run = _Run(paths, store, worktree, checkout.head(worktree), verify, progress,
               integration.ports, options.verify_jobs if batch else 0)
    records = _run_queue(run, queue, tips, options)
    _advance(run, run.head)
    store.update(partial(_finish, verify=verify, chosen=queue, records=records))
    merged = [name for name, record in records.items()
              if record.status == "merged" and record.reason is None]  # merged by this run
    final = store.load()
    assert final.integration is not None
    left_out = [name for name in queue if final.integration.merges[name].status != "merged"]
    return Outcome(final, prediction, merged, left_out)


def _prepare_tree(store: StateStore, state: FeatureState, force: bool) -> IntegrationState:
    """The record first (so a rerun after a crash knows the branch is dispatch's), then
    the branch and worktree, then the record again with the ports it got."""
    integration = checkout.planned(store.paths, state, force=force)
    store.update(partial(_set_integration, integration=integration))
    checkout.ensure(store.paths, store.load(), integration)
    integration.advancing = None
    store.update(partial(_set_integration, integration=integration))
    return integration


def _advance(run: _Run, commit: str) -> None:
    """Fast-forward the integration worktree, recorded so that a cut can be taken back."""
    run.store.update(partial(_set_advancing, target=commit))
    checkout.advance(run.worktree, commit)
    run.store.update(partial(_set_advancing, target=None))


def _set_advancing(state: FeatureState, target: str | None) -> None:
    assert state.integration is not None
    state.integration.advancing = target


def _forget_integration(state: FeatureState, updated_at: datetime) -> None:
    state.integration = None
    state.updated_at = updated_at


def branch_tips(paths: FeaturePaths, state: FeatureState,
                override: dict[str, str]) -> dict[str, str]:
    """Each workstream's branch tip (a fetched remote tip wins); missing branches left out."""
    local = refs.branch_tips(paths.root)
    tips: dict[str, str] = {}
    for name, record in state.workstreams.items():
        tip = override.get(name) or local.get(record.branch)
        if tip is not None:
            tips[name] = tip
    return tips


def _queue(state: FeatureState, options: IntegrateOptions) -> list[str]:
    """Chosen workstreams, dependencies first and then spec order."""
    names = state.names()
    if options.only is not None:
        only = picks.as_attempts(state, options.only)  # a teamed workstream: its pick
        unknown = sorted(set(only) - set(names))
        if unknown:
            raise DispatchError(f"--only names unknown workstream(s) {', '.join(unknown)} "
                                f"(the workstreams are: {', '.join(names)})")
        chosen = [n for n in names if n in only]
        unpicked = [f"{n}: {why}" for n in chosen if (why := picks.left_out(state, n))]
        if unpicked:
            raise DispatchError(f"--only names an attempt that is not picked ("
                                f"{'; '.join(unpicked)}); pick it first ('dispatch pick')")
    else:
        chosen = [n for n in names if state.workstreams[n].status in options.include
                  and picks.left_out(state, n) is None]  # (teams: only the pick)
    if not chosen:
        statuses = ", ".join(f"{n}: {state.workstreams[n].status}" for n in names)
        raise NothingToIntegrate(
            f"nothing to integrate: no workstream is {' or '.join(options.include)} "
            f"({statuses}); resume them, or choose with --include / --only")
    def dependencies(name: str) -> list[str]:  # (a team's workstream with no pick yet: none)
        record = state.workstreams.get(name)
        return [picks.stands_for(state, d) or d for d in record.depends_on] if record else []

    order = dependency_order(names, dependencies)
    return [n for n in order if n in chosen]


def predict(paths: FeaturePaths, state: FeatureState,
            tips: dict[str, str]) -> conflicts.Prediction:
    base_tip, label = _base_tip(paths, state)
    names = [name for name in state.names() if name in tips]
    prepared = dict(zip(names, parallel_map(
        lambda name: candidate.prepare(paths.root, state.base, tips[name]), names, threads=4),
        strict=True))
    branches = [conflicts.Branch(name, found.merge_tip, state.owned_files(name),
                                 own_work.own_start(paths.root, state, name, found.tip))
                for name, found in prepared.items() if found.problem is None]
    prediction = conflicts.predict(paths.root, state.base, base_tip, label, branches)
    prediction.unmergeable = {name: found.problem for name, found in prepared.items()
                              if found.problem is not None}
    return prediction


def _base_tip(paths: FeaturePaths, state: FeatureState) -> tuple[str, str]:
    """The base as it is now: the ref the feature started from, if it was named."""
    if state.base_ref:
        tip = refs.commit_of(paths.root, state.base_ref)
        if tip is not None:
            return tip, f"{state.base_ref} @ {tip[:10]}"
    return state.base, f"base @ {state.base[:10]}"


def _expect_green_start(paths: FeaturePaths, integration: IntegrationState, worktree: Path,
                        verify: str | None, progress: Progress) -> float:
    """Verify the branch before any merge; how long verify took (0 without one)."""
    if verify is None:
        return 0.0
    log = paths.logs / "integration.verify.base.log"
    progress(f"verifying the integration branch before any merge: {verify}")
    started = time.monotonic()
    env = _ports_env(integration)
    if not run_verify(verify, worktree, env, log) and \
            not run_verify(verify, worktree, env, log):  # (once more: a flaky test?)
        raise DispatchError(f"the verify command `{verify}` already fails on the integration "
                            f"branch before any merge (see {paths.relative(log)}); fix it or "
                            "run without --verify")
    return time.monotonic() - started


@dataclass
class _Run:
    """One pass of the queue: where the integration branch is, and what it does."""

    paths: FeaturePaths
    store: StateStore
    worktree: Path
    head: str  # the integration branch as this run has built it so far
    verify: str | None
    progress: Progress
    ports: dict[str, int] = field(default_factory=dict)
    batch_jobs: int = 0  # verify runs at once in a batch's search; 0: one merge at a time


def _run_queue(run: _Run, queue: list[str], tips: dict[str, str],
               options: IntegrateOptions) -> dict[str, MergeRecord]:
    """Merge the queue; returns the new records. Without verify the branch moves only at
    the end, so the records are saved with it; with verify each one is saved as it lands."""
    state = run.store.load()
    assert state.integration is not None
    if run.verify is not None and run.batch_jobs and not options.stop_on_conflict:
        return batches.land(run, state, queue, tips, merge_on, _advance)
    records: dict[str, MergeRecord] = {}
    for name in queue:
        record = _merge_one(run, state, name, tips.get(name))
        if record is None:
            continue
        records[name] = state.integration.merges[name] = record
        if run.verify is not None:
            run.store.update(partial(_record, name=name, record=record))
        if record.status == "conflict" and options.stop_on_conflict:
            break
    return records


def _merge_one(run: _Run, state: FeatureState, name: str, tip: str | None) -> MergeRecord | None:
    """The merge of one branch, or None when nothing changed since the last run."""
    assert state.integration is not None
    found = merge_on(run, state, name, tip, run.head)
    if not isinstance(found, Pending):
        return found
    if run.verify is not None:
        return _verified(run, state.integration, name, found.commit, found.tip)
    run.head = found.commit  # the worktree catches up with one fast-forward at the end
    return MergeRecord(status="merged", tip=found.tip, commit=found.commit)


@dataclass(frozen=True)
class Pending:
    """A clean merge, made in memory on top of `head`, not yet verified or recorded."""

    tip: str
    commit: str


def merge_on(run: _Run, state: FeatureState, name: str, tip: str | None,
             head: str) -> MergeRecord | Pending | None:
    """The merge of one branch on top of `head`: a clean merge still to verify, what became
    of it (conflict, skipped, already in), or None when nothing changed since the last run."""
    assert state.integration is not None
    previous = state.integration.merges.get(name)
    if tip is None:
        if previous and previous.status == "merged" and previous.tip and refs.is_ancestor(
                run.paths.root, previous.tip, head):
            return None  # merged, then deleted (`--delete-merged`, clean): its work is here
        return MergeRecord(status="skipped", reason="its branch is missing (deleted by hand?)")
    if previous and previous.tip == tip and previous.status in ("conflict", "verify_failed"):
        return None  # nothing new on that branch since it failed
    found = candidate.prepare(run.paths.root, state.base, tip)
    if found.problem is not None:
        unrelated = "no history in common" in found.problem
        return MergeRecord(status="conflict" if unrelated else "skipped", tip=tip,
                           reason=found.problem)
    if refs.is_ancestor(run.paths.root, tip, head):
        return None if previous and previous.status == "merged" else MergeRecord(
            status="merged", tip=tip, commit=head,
            reason="already in the integration branch")
    if run.verify is not None and not run.batch_jobs:  # a verify run follows: say so
        run.progress(f"merging {name} ({tip[:10]})")
    tree, files = merges.merge_tree(run.paths.root, head, found.merge_tip)
    if tree is None:
        return MergeRecord(status="conflict", tip=tip, files=files,
                           collides_with=_collisions(run.paths, state, files, name))
    return Pending(tip, merges.commit_tree(run.paths.root, tree, [head, found.merge_tip],
                                           f"Merge {name} workstream"))


def _verified(run: _Run, integration: IntegrationState, name: str, commit: str,
              tip: str) -> MergeRecord:
    assert run.verify is not None
    _advance(run, commit)
    log = run.paths.logs / f"integration.verify.{name}.log"
    run.progress(f"verifying after {name}: {run.verify}")
    started = time.monotonic()
    env = _ports_env(integration)
    passed = run_verify(run.verify, run.worktree, env, log)
    flaky = not passed and run_verify(run.verify, run.worktree, env, log)  # once more
    passed = passed or flaky
    run.progress(f"verify after {name} {'passed' if passed else 'FAILED'} in "
                 f"{time.monotonic() - started:.1f}s (log {run.paths.relative(log)})")
    if passed:
        run.head = commit
        return MergeRecord(status="merged", tip=tip, commit=commit,
                           verify_log=run.paths.relative(log),
                           flaky=f"`{run.verify}` failed once after this merge and passed "
                                 "when run again: a flaky test?" if flaky else None)
    checkout.rewind(run.worktree, run.head)
    return MergeRecord(status="verify_failed", tip=tip, verify_log=run.paths.relative(log),
                       reason=f"`{run.verify}` failed after the merge (twice); it was taken "
                              "back out")


def _collisions(paths: FeaturePaths, state: FeatureState, files: list[str],
                name: str) -> list[str]:
    """Earlier merges that changed the files this merge conflicts on."""
    assert state.integration is not None
    earlier = [n for n, r in state.integration.merges.items()
               if r.status == "merged" and n != name and r.tip]
    return [n for n in earlier if set(files) & set(history.changed_files(
        paths.root, state.base, state.integration.merges[n].tip or ""))]


def _ports_env(integration: IntegrationState) -> dict[str, str]:
    return {key: str(port) for key, port in integration.ports.items()}


def _set_integration(state: FeatureState, integration: IntegrationState) -> None:
    if state.integration is None or state.integration.branch != integration.branch:
        state.integration = integration
    else:
        state.integration.ports = integration.ports or state.integration.ports
        state.integration.advancing = integration.advancing


def _record(state: FeatureState, name: str, record: MergeRecord) -> None:
    assert state.integration is not None
    state.integration.merges[name] = record


def _finish(state: FeatureState, verify: str | None, chosen: list[str],
            records: dict[str, MergeRecord]) -> None:
    assert state.integration is not None
    state.integration.merges.update(records)
    state.integration.last_run_at = now()
    state.integration.verify = verify
    for name, record in state.workstreams.items():
        previous = state.integration.merges.get(name)
        if name not in chosen and (previous is None or previous.status == "skipped"):
            state.integration.merges[name] = MergeRecord(
                status="skipped", reason=picks.left_out(state, name) or
                f"its status is {record.status}")
