"""The optional YAML block at the top of a spec, as validated data."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from dispatch.state.names import MAX_TEAMS
from dispatch.state.plan import AgentOptions, QueueSettings


class WorkstreamOverrides(AgentOptions):
    """Per-workstream settings from the frontmatter's `workstreams:` mapping."""

    verify: str | None = None
    branch: str | None = None
    # Competing teams (README: Competing teams): how many, each one's approach and model.
    teams: int | None = Field(default=None, ge=1, le=MAX_TEAMS)
    approaches: list[str] | None = None
    models: list[str] | None = None
    judge: bool | None = None


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
    allow_setup_failure: bool | None = None
    on_event: str | None = None  # a shell command run with each event (README: signals)
    integrate: Literal["auto", "manual"] | None = None  # auto: the autopilot (README)
    fix_rounds: int | None = Field(default=None, ge=0, le=10)
    judge: bool | None = None  # a judge session reviews every workstream's teams
    queue: QueueSettings | None = None  # {batch_size: K}: read by `start` (README: the queue)
    workstreams: dict[str, WorkstreamOverrides] = Field(default_factory=dict)
