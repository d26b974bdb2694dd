"""Competing teams in a spec: `**Teams**: 2` and `**Approaches**:` under a workstream,
`workstreams: {audio: {teams: 2, approaches: [...], models: [...]}}` in the frontmatter, and
`--teams audio=2` on the command line (which wins).

The two fields are read from the workstream's notes (bold labels dispatch does not know
become notes): a spec written before teams existed, with `**Teams**: backend` as a remark,
reads exactly as it did.
"""

from __future__ import annotations

import re

from dispatch.core.errors import DispatchError, SpecError
from dispatch.core.text import shown as quoted
from dispatch.spec.frontmatter import WorkstreamOverrides
from dispatch.state.model import FeatureState
from dispatch.state.names import MAX_TEAMS
from dispatch.state.plan import Plan, Teams

_TEAMS_NOTE = re.compile(r"^teams:\s*(\d+)\s*$", re.IGNORECASE)
_APPROACH_NOTE = re.compile(r"^approaches:\s*(.*)$", re.IGNORECASE | re.DOTALL)


def teams_of(notes: list[str], override: WorkstreamOverrides | None, where: tuple[str, int],
             name: str) -> tuple[Teams | None, list[str]]:
    """The workstream's teams (None for one session), and its notes without the fields
    that said so. `where`: the spec as shown in errors, and the workstream's line."""
    count, approaches, kept = None, [], []
    for note in notes:
        if (found := _TEAMS_NOTE.match(note)) and count is None:
            count = int(found[1])
        elif found_approach := _APPROACH_NOTE.match(note):
            approaches += [a.strip() for a in found_approach[1].split(";") if a.strip()]
        else:
            kept.append(note)
    if override is not None:
        count = override.teams or count
        approaches = override.approaches if override.approaches is not None else approaches
    models = (override.models if override is not None else None) or []
    judge = override.judge if override is not None else None
    try:
        return make_teams(name, count, approaches, models, judge), kept
    except DispatchError as exc:
        raise SpecError(where[0], where[1], exc.message) from None


def make_teams(name: str, count: int | None, approaches: list[str], models: list[str],
               judge: bool | None) -> Teams | None:
    """Teams from what was given; the number of approaches is the count when none is."""
    count = count if count is not None else (len(approaches) or None)
    if count is None or count == 1:
        if approaches or models:
            raise DispatchError(f"workstream '{name}' lists approaches or models for its "
                                "teams but runs as one session; add '**Teams**: 2' (or "
                                "'teams: 2' in its frontmatter)")
        return None
    _expect_count(name, count)
    for what, listed in (("approaches", approaches), ("models", models)):
        if len(listed) > count:
            raise DispatchError(f"workstream '{name}' has {count} teams but {len(listed)} "
                                f"{what}; give one per team (or raise its teams to "
                                f"{len(listed)})")
    return Teams(count=count, approaches=approaches, models=models, judge=judge)


def _expect_count(name: str, count: int) -> None:
    if not 2 <= count <= MAX_TEAMS:
        raise DispatchError(f"workstream '{name}' asks for {count} teams; use 2 to "
                            f"{MAX_TEAMS} (or leave the field out for one session)")


def parse_counts(values: list[str]) -> dict[str, int]:
    """`--teams audio=2` (repeatable, or `audio=2,web=3`) -> {"audio": 2}."""
    counts: dict[str, int] = {}
    for value in values:
        for item in filter(None, (part.strip() for part in value.split(","))):
            name, sep, number = item.partition("=")
            if not sep or not number.strip().isdigit():
                raise DispatchError(f"--teams {quoted(item)}: write WORKSTREAM=N, e.g. "
                                    "--teams audio=2")
            counts[name.strip()] = int(number)
    return counts


def with_counts(plan: Plan, counts: dict[str, int]) -> Plan:
    """The plan with these workstreams run by this many teams (1: one session again)."""
    if not counts:
        return plan
    known = [ws.name for ws in plan.workstreams]
    unknown = sorted(set(counts) - set(known))
    if unknown:
        raise DispatchError(f"--teams names unknown workstream(s) {', '.join(unknown)} (the "
                            f"workstreams are: {', '.join(known)})")
    changed = []
    for ws in plan.workstreams:
        if ws.name not in counts:
            changed.append(ws)
            continue
        old = ws.teams
        teams = None if counts[ws.name] == 1 else make_teams(
            ws.name, counts[ws.name], old.approaches if old else [], old.models if old else [],
            old.judge if old else None)
        changed.append(ws.model_copy(update={"teams": teams}))
    return plan.model_copy(update={"workstreams": changed})


def for_feature(plan: Plan, state: FeatureState | None, counts: dict[str, int],
                judge: bool) -> Plan:
    """The plan a (re)start runs: the spec's, with `--teams` and `--judge` applied, and the
    teams an earlier start was given on its command line kept. Refuses what would strand
    sessions that exist: a workstream run alone cannot become teams, nor the reverse, and
    a team's attempts cannot be taken away."""
    if state is not None:
        earlier = {ws.name: ws for ws in state.plan.workstreams if ws.teams}
        plan = plan.model_copy(update={"workstreams": [
            ws.model_copy(update={"teams": earlier[ws.name].teams})
            if ws.name in earlier and ws.teams is None and ws.name not in counts else ws
            for ws in plan.workstreams]})
    plan = with_counts(plan, counts)
    if judge:
        plan = plan.model_copy(update={"judge": True})
    if state is not None:
        for ws in plan.workstreams:
            _expect_same_shape(ws.name, ws.teams.count if ws.teams else 1, state)
    return plan


def _expect_same_shape(name: str, count: int, state: FeatureState) -> None:
    team = state.teams.get(name)
    if team is None and count > 1 and name in state.workstreams:
        raise DispatchError(f"workstream '{name}' already has a session of its own; it cannot "
                            f"become {count} teams now (clean the feature first: 'dispatch "
                            f"clean {state.feature}')")
    if team is not None and count < len(team.attempts):
        raise DispatchError(f"workstream '{name}' already runs as {len(team.attempts)} teams "
                            f"({', '.join(team.attempts)}); it cannot have {count} now — "
                            f"drop --teams {name}=... or clean the feature first")
