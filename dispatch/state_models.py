"""What `.worktrees/<feature>/sessions.json` holds (a public, versioned format)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, Field

from dispatch.models import Plan

SCHEMA_VERSION = 1

Status = Literal[
    "provisioning",  # worktree, files or setup not finished yet
    "pending",  # ready, no session started yet
    "waiting",  # its dependencies are not done yet
    "running",  # a session is working
    "retrying",  # a transient failure; the same session is resumed after a pause
    "done",  # finished, with commits and RESULTS.md (and a passing verify, if any)
    "needs_attention",  # finished but incomplete, or its branch could not be updated
    "failed",  # the session failed for a reason retrying will not fix
    "blocked",  # a dependency failed
    "stopped",  # stopped by `dispatch stop`; resumable
    "interrupted",  # the process died without reporting; resumable
]
SetupStatus = Literal["ok", "failed", "skipped", "none"]
Worker = Literal["claude", "rehearsal"]


def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


class SetupResult(BaseModel):
    command: str | None = None
    status: SetupStatus = "none"
    exit_code: int | None = None
    log: str | None = None  # relative to the repository root
    seconds: float | None = None


class SessionRecord(BaseModel):
    """One workstream: where it lives and what its Claude session did."""

    name: str
    branch: str
    path: str  # the worktree, relative to the repository root
    depends_on: list[str] = Field(default_factory=list)
    ports: dict[str, int] = Field(default_factory=dict)
    status: Status = "provisioning"
    created_branch: bool = False  # dispatch made the branch (so it may delete it when merged)
    checked_out: bool = False
    setup: SetupResult = Field(default_factory=SetupResult)
    worker: Worker | None = None
    session_id: str | None = None
    pid: int | None = None
    pid_started: float | None = None  # the process's start time, to detect pid reuse
    started_at: datetime | None = None
    finished_at: datetime | None = None
    last_checkpoint: str | None = None
    error: str | None = None
    total_cost_usd: float = 0.0
    num_turns: int = 0
    duration_ms: int = 0
    attempts: int = 0


class FeatureState(BaseModel):
    schema_version: int = SCHEMA_VERSION
    feature: str
    spec: str | None = None
    base: str  # the commit every workstream branch starts from
    base_ref: str | None = None  # what the user named, e.g. "main"
    created_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)
    plan: Plan
    workstreams: dict[str, SessionRecord] = Field(default_factory=dict)
