"""The queue (`start --queue`): each workstream's session works through its items in batches.

- Every workstream's tasks are cut into batches of K (state/work_items.py); batch 1 is its
  session's first task (TASKS.md and the first prompt name its items).
- When a run ends and the done check passes, its batch is booked done in the same locked
  write that records the run (run.py `_apply`, guarded by `booked_attempt`): a batch is done
  exactly once, and a supervisor killed at any moment leaves either the run unrecorded (the
  next one records it) or both recorded. The next batch is handed to the same workstream in
  that write; the workstream goes back to `pending` and the supervisor resumes the same
  session with the batch's prompt. Only when nothing is left for it does it stay `done`.
- A failed run or a failed done check is today's retry and follow-up, for that batch (its
  follow-up allowance is renewed with each batch).
- Taking work (stealing): a workstream whose own list is empty takes a pending batch of the
  longest remaining list (most items not yet handed out), from its end, only when that
  batch's files appear in no other batch of its owner, done, pending or assigned; a batch
  with an item that names no file, or whose owner has one, is never taken, since its files
  cannot be shown to stay disjoint. Nor is a batch whose owner depends on other workstreams
  (their work is not on the taker's branch).
"""

from __future__ import annotations

from datetime import datetime, timezone

from dispatch.core import render
from dispatch.sessions.done_check import Check
from dispatch.state import work_items
from dispatch.state.model import Batch, FeatureState, SessionRecord, WorkQueue
from dispatch.state.paths import FeaturePaths
from dispatch.state.plan import Plan
from dispatch.workspace import briefing

DEFAULT_BATCH_SIZE = 20


def ensure(state: FeatureState, plan: Plan) -> FeatureState:
    """Cut the batches of every workstream that has none yet and whose session has not run
    (one that ran was given all its tasks at once; a rerun keeps what exists: batches are
    never cut again); batch 1 of each is its own session's."""
    if plan.queue is None and state.queue is None:
        return state
    if state.queue is None:
        assert plan.queue is not None
        state.queue = WorkQueue(batch_size=plan.queue.batch_size)
    known = {batch.owner for batch in state.queue.batches}
    for ws in plan.workstreams:
        record = state.workstreams.get(ws.name)
        if ws.name in known or record is None or record.attempts:
            continue
        batches = work_items.cut(ws, state.queue.batch_size)
        if batches:
            _hand_out(batches[0], ws.name, None)
        state.queue.batches += batches
    return state


def assigned(queue: WorkQueue, name: str) -> Batch | None:
    return next((b for b in queue.batches if b.worker == name and b.status == "assigned"),
                None)


def check_batch(state: FeatureState, record: SessionRecord, check: Check) -> None:
    """A batch after the first must add commits of its own: the branch must have moved since
    it was handed out (the plain check counts every commit since the base)."""
    batch = assigned(state.queue, record.name) if state.queue else None
    if batch is not None and batch.start_tip and check.tip == batch.start_tip:
        check.missing.append(f"no new commits for batch {batch.number} of {batch.owner}: "
                             "commit its items on your branch")


def after_run(state: FeatureState, name: str, check: Check | None) -> None:
    """Called in the write that records a run (see the module docstring): book its batch
    when the workstream came out `done`, and give it the next batch if there is one."""
    record = state.workstreams[name]
    if state.queue is None or record.status != "done" or check is None:
        return
    at = _moment()
    finished = assigned(state.queue, name)
    if finished is not None:
        finished.status, finished.done_at = "done", at
    following = next_batch(state, name)
    if following is None:
        return
    _hand_out(following, name, check.tip, at)
    record.status, record.error, record.resume_prompt = "pending", None, None
    record.followed_up, record.retries, record.transient = False, 0, False
    if following.owner != name:
        record.note(f"took batch {following.number} of {following.owner} (its files are in "
                    f"no other batch of {following.owner})")


def _hand_out(batch: Batch, worker: str, tip: str | None, at: datetime | None = None) -> None:
    batch.status, batch.worker, batch.start_tip = "assigned", worker, tip
    batch.assigned_at = at or _moment()


def _moment() -> datetime:
    """Now, to the microsecond (the state's `now` keeps seconds): rates are computed from
    these times, and batches of a quick list pass within a second of each other."""
    return datetime.now(timezone.utc)


def next_batch(state: FeatureState, name: str) -> Batch | None:
    """Its own next batch; when its list is empty, one it may take from another."""
    assert state.queue is not None
    own = [b for b in state.queue.batches if b.owner == name and b.status == "pending"]
    return own[0] if own else stealable(state, name)


def stealable(state: FeatureState, thief: str) -> Batch | None:
    assert state.queue is not None
    pending: dict[str, list[Batch]] = {}
    for batch in state.queue.batches:
        if batch.status == "pending" and batch.owner != thief:
            pending.setdefault(batch.owner, []).append(batch)
    order = state.names()
    by_length = sorted(pending, key=lambda owner: (
        -sum(len(b.items) for b in pending[owner]),
        order.index(owner) if owner in order else len(order)))
    for owner in by_length:
        record = state.workstreams.get(owner)
        if record is None or record.depends_on:
            continue
        for batch in reversed(pending[owner]):
            if files_stay_disjoint(state.queue, batch):
                return batch
    return None


def files_stay_disjoint(queue: WorkQueue, batch: Batch) -> bool:
    """Whether the batch's files appear in no other batch of its owner (any status)."""
    mine = _files(batch)
    if mine is None:
        return False
    for other in queue.batches:
        if other.owner != batch.owner or other is batch:
            continue
        theirs = _files(other)
        if theirs is None or mine & theirs:
            return False
    return True


def _files(batch: Batch) -> set[str] | None:
    found = {item.file for item in batch.items}
    return None if None in found else {f for f in found if f is not None}


def prompt(paths: FeaturePaths, state: FeatureState, record: SessionRecord,
           resume: bool) -> str | None:
    """The run's prompt when the workstream has a batch: the first prompt (for a session
    that starts afresh) and the batch; None without one."""
    batch = assigned(state.queue, record.name) if state.queue else None
    if batch is None:
        return None
    assert state.queue is not None
    ws = state.plan.workstream(record.name)
    context = briefing.context(paths, state, ws)
    mine = [b for b in state.queue.batches if b.owner == batch.owner]
    text = render.render(
        "batch_prompt.md.j2", paths.root, **context, batch=batch, batches=len(mine),
        later=sum(b.status == "pending" for b in mine), taken=batch.owner != record.name,
        owner_files=state.owned_files(batch.owner)).strip()
    if resume:
        return text
    return f"{briefing.prompt('first_prompt.md.j2', paths, state, ws)}\n\n{text}"
