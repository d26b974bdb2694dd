"""The plan parsed from a spec: the workstreams and how their sessions run.

Kept in sessions.json and plan.json; the rest of a running feature's state is in `model.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

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


class QueueSettings(BaseModel):
    """`start --queue` / frontmatter `queue: {batch_size: K}`: each workstream's tasks are
    worked through K at a time by the same session (sessions/queue.py)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    batch_size: int = Field(ge=1, le=10_000)


class Workstream(BaseModel):
    """One parallel unit of work: its own worktree, branch and Claude session."""

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
        for ws in self.workstreams:
            if ws.name == name:
                return ws
        raise KeyError(name)

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
