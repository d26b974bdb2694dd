"""What sessions.json records about a workstream run by competing teams, and what follows
from it: which attempt stands for the workstream (its pick), and what its dependants wait for.

A teamed workstream `audio` has no session record of its own: its attempts `audio.t1`,
`audio.t2` do. Everything that names `audio` as a dependency (the scheduler, the dependency
merge, the done check) asks here which attempt that is now.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from dispatch.core.errors import DispatchError

if TYPE_CHECKING:
    from dispatch.state.model import FeatureState

PickedBy = Literal["rule", "judge", "person"]
# An attempt in one of these may still change: its team is not compared before they end.
ACTIVE = frozenset({"provisioning", "setting_up", "pending", "waiting", "running", "retrying"})
FAILED = frozenset({"failed", "blocked"})


class JudgeRecord(BaseModel):
    """The judge session: a fresh headless Claude that reviews the attempts (optional)."""

    session_id: str | None = None  # of the latest run
    attempts: int = 0  # runs started
    booked_attempt: int = 0  # the latest run whose cost is recorded
    pid: int | None = None
    pid_started: float | None = None
    total_cost_usd: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    num_turns: int = Field(default=0, ge=0)
    duration_ms: int = Field(default=0, ge=0)
    fingerprint: str | None = None  # the attempts (status and tip) the verdict is about
    winner: int | None = None  # the team it chose, when its answer was valid
    reasons: list[str] = Field(default_factory=list)
    risks: list[str] = Field(default_factory=list)
    problem: str | None = None  # why there is no judgement
    log: str | None = None  # its output, relative to the repository root


class TeamRecord(BaseModel):
    """One workstream's teams: their attempts, the comparison and the pick."""

    attempts: list[str] = Field(default_factory=list)  # record names, team 1 first
    picked: str | None = None  # the attempt that stands for the workstream
    picked_by: PickedBy | None = None
    reason: str | None = None  # why that one (or why none yet)
    compared: str | None = None  # the fingerprint of the attempts last compared
    compared_at: datetime | None = None
    comparison: str | None = None  # compare/<ws>.md, relative to the repository root
    ranking: list[str] = Field(default_factory=list)  # the rule's order, best first
    judge: JudgeRecord = Field(default_factory=JudgeRecord)

    def team_of(self, name: str) -> int:
        return self.attempts.index(name) + 1


def fingerprint(state: FeatureState, workstream: str) -> str:
    """What a comparison saw: each attempt's status and branch tip. A comparison is
    stale (done again) once this changes, e.g. after a person resumed an attempt."""
    team = state.teams[workstream]
    parts = []
    for name in team.attempts:
        record = state.workstreams.get(name)
        parts.append(f"{name}:{record.status}:{record.tip}" if record else f"{name}:gone")
    return ",".join(parts)


def all_ended(state: FeatureState, workstream: str) -> bool:
    team = state.teams[workstream]
    records = [state.workstreams.get(name) for name in team.attempts]
    return bool(records) and all(r is not None and r.status not in ACTIVE for r in records)


def comparison_due(state: FeatureState, workstream: str) -> bool:
    """Every team has ended, nothing is picked, and these attempts were not compared yet."""
    team = state.teams.get(workstream)
    return team is not None and team.picked is None and all_ended(state, workstream) and \
        team.compared != fingerprint(state, workstream)


def dependency_status(state: FeatureState, dependency: str) -> str:
    """The status a dependant sees: a record's own, or for a teamed workstream "done" once
    an attempt is picked, "failed" when every attempt failed, else what it waits for."""
    team = state.teams.get(dependency)
    if team is None:
        record = state.workstreams.get(dependency)
        return record.status if record is not None else "missing"
    if team.picked is not None:
        return "done"
    statuses = [state.workstreams[n].status for n in team.attempts if n in state.workstreams]
    if statuses and all(status in FAILED for status in statuses):
        return "failed"
    if any(status in ACTIVE for status in statuses):
        return "its teams are at work"
    if comparison_due(state, dependency):
        return "its teams are being compared"
    return f"no team picked: see 'dispatch compare {dependency}', then 'dispatch pick " \
        f"{dependency} N'"


def stands_for(state: FeatureState, workstream: str) -> str | None:
    """The record that is `workstream` for everything that follows: itself, or its pick
    (None while a teamed workstream has none)."""
    team = state.teams.get(workstream)
    if team is None:
        return workstream if workstream in state.workstreams else None
    return team.picked


def dependency_branch(state: FeatureState, dependency: str) -> str | None:
    name = stands_for(state, dependency)
    record = state.workstreams.get(name) if name else None
    return record.branch if record is not None else None


def not_picked(state: FeatureState) -> dict[str, str]:
    """{attempt: its workstream} for every attempt recorded as not picked (its team has a
    pick, and it is another)."""
    return {name: ws for ws, team in state.teams.items() if team.picked is not None
            for name in team.attempts if name != team.picked}


def left_out(state: FeatureState, name: str) -> str | None:
    """Why the record `name` is not integrated: another attempt of its workstream is the
    pick, or none is yet. None for any record that may be integrated."""
    record = state.workstreams.get(name)
    if record is None or record.team_of is None or record.team_of not in state.teams:
        return None
    team = state.teams[record.team_of]
    if team.picked == name:
        return None
    if team.picked is None:
        return f"none of {record.team_of}'s teams is picked yet (dispatch compare {record.team_of})"
    return f"not picked: {team.picked} stands for {record.team_of}"


def judge_costs(state: FeatureState) -> float:
    return sum(team.judge.total_cost_usd for team in state.teams.values())


def as_attempts(state: FeatureState, names: list[str]) -> list[str]:
    """Names as given, a workstream run by teams replaced by its pick (refused without one)."""
    found = []
    for name in names:
        team = state.teams.get(name)
        if team is not None and team.picked is None:
            raise DispatchError(f"none of {name}'s teams is picked yet: compare them "
                                f"('dispatch compare {name}') or pick one ('dispatch pick "
                                f"{name} N')")
        found.append(team.picked if team is not None and team.picked else name)
    return found
