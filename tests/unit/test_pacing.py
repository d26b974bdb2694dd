"""Easing off when the API pushes back (dispatch/sessions/pacing.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from dispatch.sessions import pacing
from dispatch.sessions.run_result import RunOutcome, interpret
from dispatch.state.model import RunSettings

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
OVERLOADED = RunOutcome("error", transient=True, message="API Error: 529 Overloaded.",
                        overloaded=True)
OK = RunOutcome("success")


@pytest.mark.parametrize(("max_parallel", "limit", "running", "outcome", "after"), [
    (8, None, 8, OVERLOADED, 4),  # halved
    (8, None, 3, OVERLOADED, 1),  # halved from what was running, not from the cap
    (8, 4, 4, OVERLOADED, 2),
    (8, 1, 1, OVERLOADED, 1),  # never below one
    (8, 2, 2, OK, 3),  # one more after a run that ended well
    (8, 7, 7, OK, None),  # back to --max-parallel: no limit
    (8, 2, 2, RunOutcome("error", message="bug"), 2),  # other failures change nothing
    (8, None, 8, OK, None),
])
def test_halve_on_push_back_add_one_on_success(max_parallel: int, limit: int | None,
                                               running: int, outcome: RunOutcome,
                                               after: int | None) -> None:
    run = RunSettings(max_parallel=max_parallel, limit=limit)
    pacing.after_run(run, outcome, running, T0, T0 - timedelta(seconds=5))
    assert run.limit == after
    assert pacing.limit(run) == after or max_parallel


def test_a_burst_of_push_backs_is_one_cut() -> None:
    """Runs launched before the cut were launched under the old limit: one signal. A run
    launched after it that is pushed back says the limit is still too high."""
    run = RunSettings(max_parallel=8)
    launched_before = T0 - timedelta(seconds=3)
    for seconds in (0, 1, 5, 19):
        pacing.after_run(run, OVERLOADED, 8, T0 + timedelta(seconds=seconds), launched_before)
    assert run.limit == 4 and "529 Overloaded" in (run.limit_reason or "")
    pacing.after_run(run, OVERLOADED, 4, T0 + timedelta(seconds=2), None)  # unknown: old
    assert run.limit == 4
    pacing.after_run(run, OVERLOADED, 4, T0 + timedelta(seconds=3), T0 + timedelta(seconds=1))
    assert run.limit == 2


def test_a_fixed_limit_never_moves() -> None:
    run = RunSettings(max_parallel=8, adaptive=False)
    pacing.after_run(run, OVERLOADED, 8, T0, T0)
    assert run.limit is None and pacing.limit(run) == 8


@pytest.mark.parametrize(("result", "overloaded"), [
    ({"subtype": "success", "is_error": True, "api_error_status": 529,
      "result": "API Error: 529 Overloaded."}, True),
    ({"subtype": "success", "is_error": True, "api_error_status": 429,
      "result": "API Error: 429 rate limit"}, True),
    ({"subtype": "success", "is_error": True, "api_error_status": None,
      "result": "API Error: Repeated 529 Overloaded errors"}, True),
    ({"subtype": "success", "is_error": True, "api_error_status": 500,
      "result": "API Error: 500 Internal server error"}, False),
    ({"subtype": "success", "is_error": False, "result": "done"}, False),
])
def test_what_counts_as_pushing_back(result: dict[str, object], overloaded: bool) -> None:
    import json

    body = {"type": "result", "session_id": "s", "total_cost_usd": 0, **result}
    assert interpret(1, json.dumps(body).encode(), "").overloaded is overloaded
