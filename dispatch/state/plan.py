"""The plan parsed from a spec: the workstreams and how their sessions run.

Kept in sessions.json and plan.json; the rest of a running feature's state is in `model.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dispatch.state.names import MAX_TEAMS, attempt_name, parse_attempt

PermissionMode = Literal["acceptEdits", "auto", "bypassPermissions", "default", "dontAsk", "plan"]


class AgentOptions(BaseModel):
    """How a Claude session is started; every field may be left to a wider default."""

    model_config = ConfigDict(extra="forbid", strict=True)

    model: str | None = Field(default=None, min_length=1)
    permission_mode: PermissionMode | None = None
    allowed_tools: list[str] | None = None
    max_turns: int | None = Field(default=None, gt=0)
    max_budget_usd: float | None = Field(default=None, gt=0)

    def overlay(self, other: AgentOptions) -> AgentOptions:
        """These options with every field that `other` sets taken from `other`."""
        return self.model_copy(update=other.model_dump(exclude_none=True))


# What a session gets when neither the spec nor the command line says (why: see
# sessions/claude_cli.py).
DEFAULT_AGENT = AgentOptions(model="sonnet", permission_mode="acceptEdits",
                             allowed_tools=["Bash"])


class Teams(BaseModel):
    """Several teams attempt the same workstream, each its own way; evidence picks one
    (README: Competing teams)."""

    model_config = ConfigDict(extra="forbid")

    count: int = Field(ge=2, le=MAX_TEAMS)
    approaches: list[str] = Field(default_factory=list)  # one brief per team, in team order
    models: list[str] = Field(default_factory=list)  # one model per team ("" or missing: the
    # workstream's own)
    judge: bool | None = None  # a judge session reviews the attempts (else the feature's)

    def approach(self, team: int) -> str | None:
        return self.approaches[team - 1] if team <= len(self.approaches) else None

    def model(self, team: int) -> str | None:
        return (self.models[team - 1] or None) if team <= len(self.models) else None


class QueueSettings(BaseModel):
    """`start --queue` / frontmatter `queue: {batch_size: K}`: each workstream's tasks are
    worked through K at a time by the same session (sessions/queue.py)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    batch_size: int = Field(ge=1, le=10_000)


class Workstream(BaseModel):
    """One parallel unit of work: its own worktree, branch and Claude session (or, with
    `teams`, one per team: its attempts)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    number: int
    goal: str
    tasks: list[str] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list)
    depends_on: list[str] = Field(default_factory=list)
    dependency_note: str | None = None
    # `**Field**: value` lines of the spec that dispatch does not use: shown, never executed.
    notes: list[str] = Field(default_factory=list)
    branch: str | None = None
    verify: str | None = None
    agent: AgentOptions = Field(default_factory=AgentOptions)
    line: int
    raw: str
    teams: Teams | None = None
    # Set on an attempt only (made by `attempts()`, never stored): which team of which
    # workstream it is, and the approach that team was given.
    team: int | None = Field(default=None, exclude=True)
    team_of: str | None = Field(default=None, exclude=True)
    approach: str | None = Field(default=None, exclude=True)

    def attempts(self) -> list[Workstream]:
        """What gets a worktree, a branch and a session: the workstream itself, or one
        attempt per team (`audio.t1`, `audio.t2`: same tasks, files and dependencies; its
        own approach and model)."""
        if self.teams is None or self.team is not None:
            return [self]
        return [self._attempt(team) for team in range(1, self.teams.count + 1)]

    def _attempt(self, team: int) -> Workstream:
        assert self.teams is not None
        model = self.teams.model(team)
        return self.model_copy(update={
            "name": attempt_name(self.name, team),
            "title": f"{self.title} (team {team} of {self.teams.count})",
            "branch": f"{self.branch}.t{team}" if self.branch else None,
            "agent": self.agent.overlay(AgentOptions(model=model)) if model else self.agent,
            "team": team, "team_of": self.name, "approach": self.teams.approach(team)})


class PlanWarning(BaseModel):
    """Something in the spec that works but is probably not what its author meant."""

    line: int | None = None  # in the spec file; None when it concerns the whole plan
    message: str


class Plan(BaseModel):
    """A spec, parsed and validated."""

    feature: str
    title: str
    spec: str
    base: str | None = None
    setup: str | None = None
    verify: str | None = None
    base_port: int | None = None
    max_parallel: int | None = None
    budget_usd: float | None = None
    allow_setup_failure: bool | None = None
    on_event: str | None = None
    integrate: bool | None = None  # frontmatter `integrate: auto`
    fix_rounds: int | None = None
    queue: QueueSettings | None = None
    agent: AgentOptions = Field(default_factory=AgentOptions)
    judge: bool | None = None  # a judge session reviews every workstream's teams
    workstreams: list[Workstream]
    warnings: list[PlanWarning] = Field(default_factory=list)

    @field_validator("warnings", mode="before")
    @classmethod
    def _lineless_warnings(cls, value: Any) -> Any:
        # sessions.json and plan.json written before warnings had lines hold plain strings.
        if isinstance(value, list):
            return [{"line": None, "message": w} if isinstance(w, str) else w for w in value]
        return value

    def workstream(self, name: str) -> Workstream:
        """A workstream by name, or one of its teams' attempts (`audio.t2`)."""
        for ws in self.workstreams:
            if ws.name == name:
                return ws
        attempt = parse_attempt(name)
        if attempt is not None:
            found = self.workstream(attempt[0]).attempts()
            if found[0].team is not None and attempt[1] <= len(found):
                return found[attempt[1] - 1]
        raise KeyError(name)

    def has(self, name: str) -> bool:
        """Whether `name` (a workstream or a team's attempt) is in this plan."""
        try:
            self.workstream(name)
        except KeyError:
            return False
        return True

    def attempts(self) -> list[Workstream]:
        """Everything that gets a session, in spec order (see `Workstream.attempts`)."""
        return [attempt for ws in self.workstreams for attempt in ws.attempts()]

    def sessions(self) -> int:
        return len(self.attempts())

    def dependents(self, name: str) -> list[str]:
        return [ws.name for ws in self.workstreams if name in ws.depends_on]


def dependency_order(names: list[str], depends_on: Callable[[str], list[str]]) -> list[str]:
    """Dependencies first, otherwise spec order (the graph is known to be acyclic)."""
    done: list[str] = []

    def place(name: str) -> None:
        if name not in done:
            for dep in depends_on(name):
                place(dep)
            done.append(name)

    for name in names:
        place(name)
    return done
