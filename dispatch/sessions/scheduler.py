"""Which workstreams may start now, which wait, which are blocked (pure functions of state)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from dispatch.sessions import pacing
from dispatch.state import picks
from dispatch.state.model import FeatureState, SessionRecord

# Statuses a supervisor may pick up and launch.
STARTABLE = ("pending", "waiting", "retrying")
FAILED = ("failed", "blocked")


@dataclass(frozen=True)
class Decision:
    name: str
    action: str  # "launch", "wait", "block", "hold"
    reason: str = ""


def decide(state: FeatureState, now: datetime, running: int,
           skip: set[str] | frozenset[str] = frozenset()) -> list[Decision]:
    """One decision per startable workstream, in spec order (`skip`: never launch these)."""
    assert state.run is not None
    capacity = pacing.limit(state.run) - running
    over_budget = _over_budget(state) or _halted(state)
    decisions = []
    for ws in state.plan.attempts():  # (a workstream run by teams: each team's attempt)
        record = state.workstreams.get(ws.name)
        if record is None or record.status not in STARTABLE or ws.name in skip or \
                record.setup.status in ("pending", "running"):
            continue  # (a pending setup runs first: see the supervisor)
        decision = _decide_one(state, record, now)
        if decision.action == "launch":
            if over_budget:
                decision = Decision(ws.name, "hold", over_budget)
            elif capacity <= 0:
                decision = Decision(ws.name, "hold", _no_slot(state))
            else:
                capacity -= 1
        decisions.append(decision)
    return decisions


def _no_slot(state: FeatureState) -> str:
    assert state.run is not None
    if state.run.limit is not None and state.run.limit < state.run.max_parallel:
        return (f"waiting for a free slot ({state.run.limit} at once while the API pushes "
                "back)")
    return "waiting for a free slot (--max-parallel)"


def _decide_one(state: FeatureState, record: SessionRecord, now: datetime) -> Decision:
    for dep in record.depends_on:
        status = picks.dependency_status(state, dep)  # a teamed one: "done" once picked
        if status in FAILED or status == "missing":
            return Decision(record.name, "block", f"dependency {dep} is {status}")
        if status != "done":
            return Decision(record.name, "wait", f"waiting for {dep} ({status})")
    if record.status == "retrying" and record.next_attempt_at and record.next_attempt_at > now:
        return Decision(record.name, "hold", f"retrying at {record.next_attempt_at:%H:%M:%S}")
    return Decision(record.name, "launch")


def over_budget(state: FeatureState) -> str:
    """Why nothing more is launched for the money, or ""."""
    return _over_budget(state) if state.run is not None else ""


def _over_budget(state: FeatureState) -> str:
    assert state.run is not None
    budget = state.run.budget_usd
    spent = state.total_cost()
    if budget is not None and spent >= budget:
        return f"feature budget reached (${spent:.2f} of ${budget:.2f})"
    return ""


def _halted(state: FeatureState) -> str:
    assert state.run is not None
    return f"not launched: {state.run.halted}" if state.run.halted else ""


def can_progress(state: FeatureState, running: set[str],
                 skip: set[str] | frozenset[str] = frozenset()) -> bool:
    """Whether anything will still happen without a person: a run, a retry, a launch
    (`skip`: workstreams that will not be launched)."""
    if running:
        return True
    if _over_budget(state) or _halted(state):
        return False
    memo: dict[str, bool] = {}

    def moves(name: str) -> bool:
        if name not in memo:
            record = state.workstreams.get(name)
            memo[name] = False  # guards against cycles in a damaged state
            memo[name] = record is not None and record.status in STARTABLE and \
                name not in skip and all(_dependency_moves(state, d, moves)
                                         for d in record.depends_on)
        return memo[name]

    return any(moves(name) for name in state.workstreams) or any(
        picks.comparison_due(state, name) for name in state.teams)


def _dependency_moves(state: FeatureState, dep: str, moves: Callable[[str], bool]) -> bool:
    """Whether a dependency is done or will be without a person. A workstream run by teams
    will be once picked: while a team moves, or while its comparison is due."""
    team = state.teams.get(dep)
    if team is not None:
        return team.picked is not None or picks.comparison_due(state, dep) or any(
            moves(attempt) for attempt in team.attempts)
    return dep in state.workstreams and (state.workstreams[dep].status == "done" or moves(dep))
