"""The optional YAML block at the top of a spec, as validated data."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from dispatch.state.plan import AgentOptions


class WorkstreamOverrides(AgentOptions):
    """Per-workstream settings from the frontmatter's `workstreams:` mapping."""

    verify: str | None = None
    branch: str | None = None


class QueueSettings(BaseModel):
    """`queue: {batch_size: K}` (written by `dispatch split --batch-size`): how many items a
    session takes at a time, for `dispatch start --queue`; accepted and not yet acted on."""

    model_config = ConfigDict(extra="forbid", strict=True)

    batch_size: int | None = Field(default=None, ge=1)


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
    queue: QueueSettings | None = None
    workstreams: dict[str, WorkstreamOverrides] = Field(default_factory=dict)
