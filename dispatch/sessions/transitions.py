"""How a finished run changes its workstream's record (pure: no git, no files)."""

from __future__ import annotations

from datetime import datetime, timedelta

from dispatch.sessions.done_check import Check
from dispatch.sessions.run_result import RunOutcome
from dispatch.state.model import RunSettings, SessionRecord

NO_CONVERSATION = "No conversation found"
IN_USE = "is already in use"  # a new session whose id a lost earlier run already created


def record_run(record: SessionRecord, outcome: RunOutcome, now: datetime) -> None:
    """Book what every run reports, whatever it means: cost, turns, time."""
    record.pid = None
    record.pid_started = None
    record.finished_at = now
    record.total_cost_usd = round(record.total_cost_usd + outcome.cost_usd, 6)
    record.num_turns += outcome.num_turns
    record.duration_ms += outcome.duration_ms
    if outcome.kind in ("success", "error", "killed"):
        # The CLI keeps the conversation from its first moment; if that guess is wrong for
        # a run killed very early, "No conversation found" below sets it straight.
        record.session_created = True
    if NO_CONVERSATION in outcome.message:
        record.session_created = False  # start it anew with --session-id next time
    if IN_USE in outcome.message:
        record.session_created = True  # it exists after all: resume it next time
    if outcome.problems:
        record.note(f"run {record.attempts}: invalid result ({'; '.join(outcome.problems)})")


def apply(record: SessionRecord, outcome: RunOutcome, run: RunSettings, now: datetime,
          check: Check | None = None, follow_up: str | None = None,
          timed_out: float | None = None) -> None:
    """Set status, reason and checkpoint after a run (`check` is given for successes)."""
    record_run(record, outcome, now)
    record.last_checkpoint = outcome.message or "; ".join(outcome.errors) or None
    if record.status == "stopped" and not (outcome.kind == "success" and check is not None
                                           and check.done):
        return  # `dispatch stop` ended it on purpose; it stays resumable (unless it finished)
    if timed_out is not None:
        _fail(record, f"stopped after running {timed_out:.0f}s (--session-timeout)")
    elif outcome.kind == "success":
        _after_success(record, check, follow_up)
    elif outcome.kind == "killed":
        record.status, record.error = "interrupted", outcome.message
    elif outcome.feature_wide is not None:
        _fail(record, f"{outcome.message} — {outcome.feature_wide}")
        record.fixable = True
    elif (outcome.transient or NO_CONVERSATION in outcome.message or
          IN_USE in outcome.message) and record.retries < run.max_attempts - 1:
        delay = run.backoff_base * 2 ** record.retries
        record.retries += 1
        record.status, record.transient = "retrying", True
        record.next_attempt_at = now + timedelta(seconds=delay)
        record.error = f"{outcome.message} (retry {record.retries} of {run.max_attempts - 1} " \
                       f"in {delay:g}s)"
    else:
        why = "" if not outcome.transient else \
            f" (gave up after {record.retries + 1} attempts)"
        _fail(record, outcome.message + why, transient=outcome.transient)


def _after_success(record: SessionRecord, check: Check | None,
                   follow_up: str | None) -> None:
    assert check is not None
    record.commits = check.commits
    record.tip = check.tip or record.tip
    for note in check.notes:
        record.note(note)
    record.transient = False
    if check.done:
        record.status, record.error = "done", None
    elif follow_up is not None and not record.followed_up:
        record.status, record.followed_up = "pending", True
        record.resume_prompt = follow_up
        record.error = "following up: " + "; ".join(check.missing)
    else:
        record.status, record.error = "needs_attention", "; ".join(check.missing)


def _fail(record: SessionRecord, why: str, *, transient: bool = False) -> None:
    record.status, record.error, record.transient = "failed", why, transient
