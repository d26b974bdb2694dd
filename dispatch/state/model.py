"""What `.worktrees/<feature>/sessions.json` holds (a public, versioned format)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, Field

from dispatch.state.picks import TeamRecord, judge_costs
from dispatch.state.plan import AgentOptions, Plan

SCHEMA_VERSION = 1

Status = Literal[
    "provisioning",  # worktree or files not finished yet
    "setting_up",  # the supervisor runs its setup command (e.g. `uv sync`)
    "setup_failed",  # its setup failed; its session waits (unless setup failure is allowed)
    "pending",  # ready, no session started yet
    "waiting",  # its dependencies are not done yet
    "running",  # a session is working
    "retrying",  # a transient failure; the same session is resumed after a pause
    "done",  # finished, with commits and RESULTS.md (and a passing verify, if any)
    "needs_attention",  # finished but incomplete, or its branch could not be updated
    "failed",  # the session failed for a reason retrying will not fix (`fixable`: outside
    # the workstream, e.g. not logged in: `dispatch resume --all` once it is fixed)
    "blocked",  # a dependency failed
    "stopped",  # stopped by `dispatch stop`; resumable
    "interrupted",  # the process died without reporting; resumable
]
SetupStatus = Literal["pending", "running", "ok", "failed", "skipped", "none"]
Worker = Literal["claude", "rehearsal"]


def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


class SetupResult(BaseModel):
    command: str | None = None
    status: SetupStatus = "none"
    exit_code: int | None = None
    log: str | None = None  # relative to the repository root
    seconds: float | None = None
    pid: int | None = None  # while it runs (its process group)
    started_at: datetime | None = None


class FixRound(BaseModel):
    """A problem the autopilot handed back to the workstream's own session."""

    kind: Literal["conflict", "verify"]
    tip: str  # the branch commit that could not land
    reason: str
    files: list[str] = Field(default_factory=list)  # conflicting files
    collides_with: list[str] = Field(default_factory=list)  # whose integrated work
    at: datetime = Field(default_factory=lambda: now())


class Collision(BaseModel):
    """Two live workstream branches that no longer merge cleanly (the conflict radar)."""

    a: str
    b: str
    files: list[str]
    tips: list[str]  # the two tips it was found on
    since: datetime = Field(default_factory=lambda: now())
    told: dict[str, int] = Field(default_factory=dict)  # workstream -> the run it was told in

    def involves(self, name: str) -> bool:
        return name in (self.a, self.b)

    def other(self, name: str) -> str:
        return self.b if name == self.a else self.a


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
    # Summed over every run of the session. Never negative or infinite: a worker's numbers
    # are checked before they are booked (sessions/result_fields.py).
    total_cost_usd: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    num_turns: int = Field(default=0, ge=0)
    duration_ms: int = Field(default=0, ge=0)
    attempts: int = 0  # runs started (first launch, retries, follow-ups, resumes)
    booked_attempt: int = 0  # the latest run whose outcome and cost are recorded
    retries: int = 0  # automatic retries since the last start or resume
    transient: bool = False  # the last failure looked transient (retried by resuming)
    next_attempt_at: datetime | None = None  # when a retry is due
    resume_prompt: str | None = None  # set by `dispatch resume`, used by the next launch
    followed_up: bool = False  # the one automatic "what is missing" resume was sent
    session_created: bool = False  # a run got far enough that `--resume` can find it
    deps_merged: list[str] = Field(default_factory=list)
    start_commit: str | None = None  # the branch when its first session began (after its
    # dependencies were merged in): its own work is start_commit..tip
    commits: int = 0  # commits ahead of the base when the session last ended
    tip: str | None = None  # the branch's commit when its work was last checked
    last_output: str | None = None  # raw output of the latest run, relative to the root
    notes: list[str] = Field(default_factory=list)  # what dispatch noticed (newest last)
    fixable: bool = False  # failed for a reason outside the workstream (see RunSettings.halted)
    rounds: list[FixRound] = Field(default_factory=list)  # handed back by the autopilot
    team_of: str | None = None  # an attempt of this workstream by one of its competing teams
    team: int | None = None  # which team (1-based)

    def note(self, text: str, keep: int = 20) -> None:
        """Remember something a person should know (an invalid result, a repaired branch)."""
        self.notes = [*self.notes, text][-keep:]


class RunSettings(BaseModel):
    """How `dispatch start` asked the sessions to run; the supervisor reads them."""

    worker: Worker = "claude"
    claude: list[str] = Field(default_factory=list)  # the program (and leading arguments)
    agent: AgentOptions = Field(default_factory=AgentOptions)  # command-line overrides
    max_parallel: int = 4
    budget_usd: float | None = None
    max_attempts: int = 5
    follow_up: bool = True
    session_timeout: float | None = None  # seconds; a session running longer is stopped
    backoff_base: float = 2.0  # retries wait 2, 4, 8, 16 s...
    setup_jobs: int = 4  # setup commands the supervisor runs at once
    allow_setup_failure: bool = False  # a session may start on a worktree whose setup failed
    # Set when a session failed for a reason no retry fixes and every session would meet
    # (not logged in, an invalid key, the program missing): nothing more is launched.
    halted: str | None = None
    on_event: str | None = None  # a shell command given each event on stdin (sessions/events)
    # The autopilot (`start --integrate`): the supervisor merges each workstream into the
    # integration branch as it is done, and hands conflicts and red verifies back to their
    # author's session, at most `fix_rounds` times each.
    integrate: bool = False
    fix_rounds: int = 2
    batch: bool | None = None  # as `integrate --batch` (None: when verify is slow)
    # Easing off (sessions/pacing.py): fewer sessions at once while the API pushes back.
    adaptive: bool = True
    limit: int | None = None  # sessions at once now, when below max_parallel
    limit_reason: str | None = None
    limit_cut_at: datetime | None = None


class QueueItem(BaseModel):
    """One task of a workstream's work list (sessions/queue.py)."""

    id: str  # "<workstream>:<n>": its n-th task in spec order, so ids never change
    text: str
    file: str | None = None  # the path it names, if any (what stealing keeps disjoint)


class Batch(BaseModel):
    owner: str  # the workstream whose list the items come from
    number: int  # 1, 2, ... within the owner's list
    items: list[QueueItem]
    status: Literal["pending", "assigned", "done"] = "pending"
    worker: str | None = None  # whose session has it: the owner, or a workstream that took it
    start_tip: str | None = None  # the worker's branch when it was handed out
    assigned_at: datetime | None = None
    done_at: datetime | None = None  # when its run passed the done check (booked once)


class WorkQueue(BaseModel):
    batch_size: int
    batches: list[Batch] = Field(default_factory=list)


MergeStatus = Literal["merged", "conflict", "verify_failed", "skipped"]


class MergeRecord(BaseModel):
    """What `dispatch integrate` did with one workstream's branch."""

    status: MergeStatus
    tip: str | None = None  # the branch commit this record is about
    commit: str | None = None  # the merge commit on the integration branch
    files: list[str] = Field(default_factory=list)  # conflicting files
    collides_with: list[str] = Field(default_factory=list)  # earlier merges touching them
    verify_log: str | None = None
    reason: str | None = None
    flaky: str | None = None  # verify failed once with this merge, then passed: said so
    batch: int | None = None  # merged with others, verified once for all (its batch's number)


class Rebuild(BaseModel):
    """A change of pick after integration, under way: the integration branch is rebuilt from
    its recorded merges with one attempt swapped for another (integration/repick.py). Saved
    before the branch moves, so a run cut short is finished by the next one."""

    workstream: str
    old: str  # the attempt taken out
    new: str  # the attempt merged instead
    old_head: str
    new_head: str
    merges: dict[str, MergeRecord]  # the merge records once the branch is at new_head


class IntegrationState(BaseModel):
    branch: str
    path: str  # the integration worktree, relative to the repository root
    created_branch: bool = True
    ports: dict[str, int] = Field(default_factory=dict)
    merges: dict[str, MergeRecord] = Field(default_factory=dict)
    last_run_at: datetime | None = None
    verify: str | None = None
    advancing: str | None = None  # a fast-forward of the worktree under way to this commit
    rebuild: Rebuild | None = None


class FeatureState(BaseModel):
    schema_version: int = SCHEMA_VERSION
    feature: str
    spec: str | None = None
    base: str  # the commit every workstream branch starts from
    base_ref: str | None = None  # what the user named, e.g. "main"
    created_at: datetime = Field(default_factory=now)
    updated_at: datetime = Field(default_factory=now)
    plan: Plan
    run: RunSettings | None = None
    workstreams: dict[str, SessionRecord] = Field(default_factory=dict)
    integration: IntegrationState | None = None
    external: bool = False  # made by `integrate --pattern` from branches dispatch did not create
    teams: dict[str, TeamRecord] = Field(default_factory=dict)  # workstreams run by teams
    collisions: list[Collision] = Field(default_factory=list)  # live ones only (the radar)
    queue: WorkQueue | None = None  # `start --queue`: the batches of every workstream

    def names(self) -> list[str]:
        """Every workstream with a record: the plan's order first (a teamed workstream's
        attempts in its place), then any the current plan no longer has (renamed or removed
        from an edited spec after they ran)."""
        planned = [ws.name for ws in self.plan.attempts() if ws.name in self.workstreams]
        return planned + [name for name in self.workstreams if name not in planned]

    def owned_files(self, name: str) -> tuple[str, ...]:
        try:
            return tuple(self.plan.workstream(name).files)
        except KeyError:
            return ()

    def total_cost(self) -> float:
        """Every session's cost: the workstreams' runs and the judges'."""
        return sum(record.total_cost_usd for record in self.workstreams.values()) + \
            judge_costs(self)
