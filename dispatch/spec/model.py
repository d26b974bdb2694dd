"""The data dispatch passes around: the plan parsed from a spec.

The state kept on disk while a feature runs lives in `state_models.py`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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


class WorkstreamOverrides(AgentOptions):
    """Per-workstream settings from the frontmatter's `workstreams:` mapping."""

    verify: str | None = None
    branch: str | None = None


class Frontmatter(AgentOptions):
    """The optional YAML block at the top of a spec."""

    feature: str | None = None
    title: str | None = None
    base: str | None = None
    setup: str | None = None
    verify: str | None = None
    base_port: int | None = Field(default=None, ge=1024, le=65000)
    max_parallel: int | None = Field(default=None, ge=1, le=64)
    budget_usd: float | None = Field(default=None, gt=0)
    workstreams: dict[str, WorkstreamOverrides] = Field(default_factory=dict)


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
    branch: str | None = None
    verify: str | None = None
    agent: AgentOptions = Field(default_factory=AgentOptions)
    line: int
    raw: str


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
    agent: AgentOptions = Field(default_factory=AgentOptions)
    workstreams: list[Workstream]
    warnings: list[str] = Field(default_factory=list)

    def workstream(self, name: str) -> Workstream:
        for ws in self.workstreams:
            if ws.name == name:
                return ws
        raise KeyError(name)

    def dependents(self, name: str) -> list[str]:
        return [ws.name for ws in self.workstreams if name in ws.depends_on]
