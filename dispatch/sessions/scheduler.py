"""Which workstreams may start now, which wait, which are blocked (pure functions of state)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
    capacity = state.run.max_parallel - running
    over_budget = _over_budget(state) or _halted(state)
    decisions = []
    for ws in state.plan.workstreams:
        record = state.workstreams.get(ws.name)
        if record is None or record.status not in STARTABLE or ws.name in skip or \
                record.setup.status in ("pending", "running"):
            continue  # (a pending setup runs first: see the supervisor)
        decision = _decide_one(state, record, now)
        if decision.action == "launch":
            if over_budget:
                decision = Decision(ws.name, "hold", over_budget)
            elif capacity <= 0:
                decision = Decision(ws.name, "hold", "waiting for a free slot (--max-parallel)")
            else:
                capacity -= 1
        decisions.append(decision)
    return decisions


def _decide_one(state: FeatureState, record: SessionRecord, now: datetime) -> Decision:
    for dep in record.depends_on:
        other = state.workstreams.get(dep)
        status = other.status if other else "missing"
        if status in FAILED or status == "missing":
            return Decision(record.name, "block", f"dependency {dep} is {status}")
        if status != "done":
            return Decision(record.name, "wait", f"waiting for {dep} ({status})")
    if record.status == "retrying" and record.next_attempt_at and record.next_attempt_at > now:
        return Decision(record.name, "hold", f"retrying at {record.next_attempt_at:%H:%M:%S}")
    return Decision(record.name, "launch")


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
                name not in skip and all(
                state.workstreams[d].status == "done" or moves(d)
                for d in record.depends_on if d in state.workstreams) and all(
                d in state.workstreams for d in record.depends_on)
        return memo[name]

    return any(moves(name) for name in state.workstreams)
