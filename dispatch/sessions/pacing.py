"""Easing off when the API pushes back: on a 429, a 529 or an "overloaded" answer the number
of sessions run at once is halved (never below one), and raised again by one after each run
that ends well, up to --max-parallel. The sessions that were pushed back are retried as
before, resuming the same session. (Additive increase, multiplicative decrease: the rule
that keeps TCP from collapsing a congested link.)

A burst of pushed-back runs is one signal, not many: a run that started before the last cut
was launched under the old limit, so its push-back does not cut again; one that started after
it does (the limit is still too high).
"""

from __future__ import annotations

from datetime import datetime

from dispatch.sessions.run_result import RunOutcome
from dispatch.state.model import RunSettings


def limit(run: RunSettings) -> int:
    """Sessions that may run at once now."""
    return min(run.max_parallel, run.limit or run.max_parallel)


def after_run(run: RunSettings, outcome: RunOutcome, running: int, at: datetime,
              started: datetime | None) -> None:
    """Adjust the limit to how the run ended (`running`: sessions running as it ended;
    `started`: when the run began, None when unknown)."""
    if not run.adaptive:
        return
    if outcome.overloaded:
        if run.limit_cut_at is not None and (started is None or started <= run.limit_cut_at):
            return  # launched under the limit already cut: the same signal
        run.limit = max(1, min(limit(run), max(running, 1)) // 2)
        run.limit_cut_at = at
        run.limit_reason = (f"the API pushed back ({outcome.message[:60]}) at "
                            f"{at:%H:%M:%S}")
    elif outcome.kind == "success" and run.limit is not None:
        run.limit += 1
        if run.limit >= run.max_parallel:
            run.limit = run.limit_reason = None
