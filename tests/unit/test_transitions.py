"""`transitions.apply`: what a finished run makes of its workstream's record, as a table.

Each row: the record before (its status and retries), the run's outcome, and apply's other
inputs (the done check, a follow-up prompt, a timeout); then the fields that must change.
The end-to-end tests in tests/cli/test_sessions.py keep one run per behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from dispatch.sessions.done_check import Check
from dispatch.sessions.run_result import RunOutcome
from dispatch.sessions.transitions import apply
from dispatch.state.model import RunSettings, SessionRecord

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
RUN = RunSettings(max_attempts=3, backoff_base=2.0)  # two retries: after 2 s, then 4 s
DONE = Check(commits=2)
MISSING = Check(commits=0, missing=["no commits on the branch: commit your work",
                                    "no .workstream/RESULTS.md: write it"])
FOLLOW_UP = "Finish: commit your work and write RESULTS.md."
NO_CONVERSATION = "No conversation found with session ID: 1234"
IN_USE = "Error: Session ID 1234 is already in use."

SUCCESS = RunOutcome("success", message="All tasks done.", cost_usd=0.5, num_turns=3,
                     duration_ms=1000)
OVERLOADED = RunOutcome("error", transient=True, message="API Error: 529 Overloaded.",
                        cost_usd=0.1, num_turns=1)
LOGGED_OUT = RunOutcome("error", message="Not logged in · Please run /login")
MAX_TURNS = RunOutcome("error", subtype="error_max_turns",
                       message="reached the maximum number of turns (Reached maximum number "
                               "of turns (3))")
CRASH = RunOutcome("crash", message="exit code 2 and no result on stdout")
KILLED = RunOutcome("killed", message="the process was killed (signal 9)")
GONE = RunOutcome("error", message=NO_CONVERSATION)
TAKEN = RunOutcome("error", message=IN_USE)
ERRORS_ONLY = RunOutcome("error", errors=["tool crashed", "again"])


@dataclass(frozen=True)
class Row:
    id: str
    outcome: RunOutcome
    expect: dict[str, Any]  # fields of the record after apply
    before: dict[str, Any] = field(default_factory=dict)  # fields of the record before
    check: Check | None = None
    follow_up: str | None = None
    timed_out: float | None = None
    run: RunSettings = field(default_factory=lambda: RUN)


def retrying(retries: int, delay: float, message: str, of: int = 2) -> dict[str, Any]:
    return {"status": "retrying", "retries": retries, "transient": True,
            "next_attempt_at": NOW + timedelta(seconds=delay),
            "error": f"{message} (retry {retries} of {of} in {delay:g}s)"}


def failed(error: str, *, transient: bool = False) -> dict[str, Any]:
    return {"status": "failed", "error": error, "transient": transient}


ROWS = [
    # success: the done check decides
    Row("success-done", SUCCESS, {"status": "done", "error": None, "commits": 2,
                                  "transient": False}, before={"transient": True}, check=DONE),
    Row("success-missing-follow-up", SUCCESS, {
        "status": "pending", "followed_up": True, "resume_prompt": FOLLOW_UP, "commits": 0,
        "error": "following up: no commits on the branch: commit your work; no "
                 ".workstream/RESULTS.md: write it"}, check=MISSING, follow_up=FOLLOW_UP),
    Row("success-missing-already-followed-up", SUCCESS, {
        "status": "needs_attention", "resume_prompt": None,
        "error": "no commits on the branch: commit your work; no .workstream/RESULTS.md: "
                 "write it"}, before={"followed_up": True}, check=MISSING, follow_up=FOLLOW_UP),
    Row("success-missing-no-follow-up", SUCCESS, {
        "status": "needs_attention", "followed_up": False,
        "error": "no commits on the branch: commit your work; no .workstream/RESULTS.md: "
                 "write it"}, check=MISSING),
    # transient errors: retried (by resuming) while retries are left, backing off
    Row("transient-first-retry", OVERLOADED, retrying(1, 2, "API Error: 529 Overloaded.")),
    Row("transient-second-retry", OVERLOADED, retrying(2, 4, "API Error: 529 Overloaded."),
        before={"retries": 1}),
    Row("transient-third-retry-doubles-again", OVERLOADED,
        retrying(3, 8, "API Error: 529 Overloaded.", of=4), before={"retries": 2},
        run=RunSettings(max_attempts=5, backoff_base=2.0)),
    Row("transient-backoff-base", OVERLOADED,
        retrying(2, 1, "API Error: 529 Overloaded.", of=4), before={"retries": 1},
        run=RunSettings(max_attempts=5, backoff_base=0.5)),
    Row("transient-no-retries-left", OVERLOADED, {
        **failed("API Error: 529 Overloaded. (gave up after 3 attempts)", transient=True),
        "retries": 2, "next_attempt_at": None}, before={"retries": 2}),
    # permanent errors: failed at once, whatever retries are left
    Row("permanent-error", LOGGED_OUT, {**failed("Not logged in · Please run /login"),
                                        "retries": 0}),
    Row("permanent-error-subtype", MAX_TURNS, failed(
        "reached the maximum number of turns (Reached maximum number of turns (3))")),
    Row("crash", CRASH, failed("exit code 2 and no result on stdout")),
    Row("errors-without-a-message", ERRORS_ONLY, {
        **failed(""), "last_checkpoint": "tool crashed; again"}),
    # a session the CLI does not know (or already knows): retried with the id set straight
    Row("no-conversation-retried-as-new", GONE, {
        **retrying(1, 2, NO_CONVERSATION), "session_created": False},
        before={"session_created": True}),
    Row("no-conversation-no-retries-left", GONE, {
        **failed(NO_CONVERSATION), "session_created": False},
        before={"retries": 2, "session_created": True}),
    Row("in-use-retried-as-resume", TAKEN, {**retrying(1, 2, IN_USE), "session_created": True}),
    # killed: resumable, never retried by itself
    Row("killed", KILLED, {"status": "interrupted", "error": "the process was killed "
                                                             "(signal 9)", "retries": 0}),
    # --session-timeout: failed, even when the run printed a success as it was stopped
    Row("timed-out", KILLED, failed("stopped after running 61s (--session-timeout)"),
        timed_out=61.2),
    Row("timed-out-success", SUCCESS, failed("stopped after running 61s (--session-timeout)"),
        check=DONE, timed_out=61.2),
    Row("timed-out-transient", OVERLOADED, {
        **failed("stopped after running 61s (--session-timeout)"), "retries": 0},
        timed_out=61.2),
    # `dispatch stop`: the run it ended stays stopped (resumable), with no retry
    Row("stopped-killed", KILLED, {"status": "stopped", "error": "stopped by 'dispatch stop'"},
        before={"status": "stopped", "error": "stopped by 'dispatch stop'"}),
    Row("stopped-transient", OVERLOADED, {"status": "stopped", "retries": 0,
                                          "error": "stopped by 'dispatch stop'"},
        before={"status": "stopped", "error": "stopped by 'dispatch stop'"}),
    Row("stopped-timed-out", KILLED, {"status": "stopped",
                                      "error": "stopped by 'dispatch stop'"},
        before={"status": "stopped", "error": "stopped by 'dispatch stop'"}, timed_out=61.2),
    # ... but a run that succeeded before the stop reached it keeps its success
    Row("stopped-success-done", SUCCESS, {"status": "done", "error": None, "commits": 2},
        before={"status": "stopped", "error": "stopped by 'dispatch stop'"}, check=DONE),
    # ... while one whose work is not finished stays stopped: no follow-up behind a stop
    Row("stopped-success-missing", SUCCESS, {"status": "stopped", "followed_up": False,
                                             "error": "stopped by 'dispatch stop'"},
        before={"status": "stopped", "error": "stopped by 'dispatch stop'"}, check=MISSING,
        follow_up=FOLLOW_UP),
]


def record(**fields: Any) -> SessionRecord:
    base: dict[str, Any] = {"name": "api", "branch": "f/api", "path": ".worktrees/f/api",
                            "status": "running", "pid": 4242, "pid_started": 1.0,
                            "session_id": "1234", "attempts": 1, "total_cost_usd": 0.25,
                            "num_turns": 2, "duration_ms": 500}
    return SessionRecord(**{**base, **fields})


# What every run books, whatever it means (see test_every_run_is_booked).
BOOKED = {"pid", "pid_started", "finished_at", "total_cost_usd", "num_turns", "duration_ms",
          "session_created", "last_checkpoint"}


def changes(before: SessionRecord, after: SessionRecord) -> dict[str, Any]:
    old, new = before.model_dump(), after.model_dump()
    return {key: value for key, value in new.items() if value != old[key]}


@pytest.mark.parametrize("row", [pytest.param(row, id=row.id) for row in ROWS])
def test_apply(row: Row) -> None:
    before = record(**row.before)
    after = before.model_copy(deep=True)
    apply(after, row.outcome, row.run, NOW, row.check, row.follow_up, row.timed_out)
    expected = {key: value for key, value in row.expect.items()
                if value != before.model_dump()[key]}
    found = changes(before, after)
    assert {k: v for k, v in found.items() if k not in BOOKED or k in row.expect} == expected


@pytest.mark.parametrize(("outcome", "created_before", "created", "checkpoint"), [
    pytest.param(SUCCESS, False, True, "All tasks done.", id="success"),
    pytest.param(OVERLOADED, False, True, "API Error: 529 Overloaded.", id="error"),
    pytest.param(KILLED, False, True, "the process was killed (signal 9)", id="killed"),
    pytest.param(CRASH, False, False, "exit code 2 and no result on stdout", id="crash"),
    pytest.param(CRASH, True, True, "exit code 2 and no result on stdout",
                 id="crash-after-a-run"),
    pytest.param(GONE, True, False, NO_CONVERSATION, id="no-conversation"),
    pytest.param(TAKEN, False, True, IN_USE, id="in-use"),
    pytest.param(ERRORS_ONLY, False, True, "tool crashed; again", id="errors-only"),
    pytest.param(RunOutcome("crash"), False, False, None, id="nothing-said"),
])
def test_every_run_is_booked(outcome: RunOutcome, created_before: bool, created: bool,
                             checkpoint: str | None) -> None:
    """Cost, turns and time add up over runs; the pid is cleared; whether the CLI now knows
    the session (so the next run resumes it) follows from what the run said."""
    after = record(session_created=created_before)
    apply(after, outcome, RUN, NOW, DONE if outcome.kind == "success" else None)
    assert (after.pid, after.pid_started, after.finished_at) == (None, None, NOW)
    assert (after.total_cost_usd, after.num_turns, after.duration_ms) == (
        round(0.25 + outcome.cost_usd, 6), 2 + outcome.num_turns, 500 + outcome.duration_ms)
    assert (after.session_created, after.last_checkpoint) == (created, checkpoint)


def test_costs_are_summed_without_float_noise() -> None:
    after = record(total_cost_usd=0.1)
    apply(after, RunOutcome("error", message="x", cost_usd=0.2), RUN, NOW)
    assert after.total_cost_usd == 0.3  # not 0.30000000000000004
