"""What `dispatch status` knows about each workstream: the record plus a look at git.

Status must stay quick (it is polled by people and by `--watch`): it reads sessions.json as
plain JSON — no pydantic unless the file is damaged or a record must be changed — and reads
git for all worktrees in parallel. The only change it makes is marking a session
`interrupted` when its record says running, its process is gone, no result was left and no
supervisor is there to notice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from typing import Any

from dispatch.core import files, procs
from dispatch.core.errors import DispatchError
from dispatch.core.parallel import parallel_map
from dispatch.gitops import refs, tree
from dispatch.state import locks
from dispatch.state.paths import FeaturePaths
from dispatch.workspace import workfiles

Record = dict[str, Any]
SCHEMA_VERSION = 1


@dataclass
class Live:
    """What the record does not hold: read from the process table and git, now."""

    alive: bool
    exists: bool
    tasks_done: int
    tasks_total: int
    commits_ahead: int
    uncommitted: int
    results: bool
    unrecorded: bool = False  # it ended with a result that no supervisor has recorded yet
    problem: str | None = None  # git could not read its branch or worktree
    activity: dict[str, Any] | None = None  # what a running worker does now (its stream)


@dataclass
class Snapshot:
    state: dict[str, Any]
    live: dict[str, Live]
    supervisor: int | None
    taken_at: datetime

    @property
    def records(self) -> list[Record]:
        return list(self.state["workstreams"].values())


RECORD_KEYS = {"name", "status", "branch", "path", "ports", "pid", "pid_started", "attempts",
                "worker", "session_id", "started_at", "finished_at", "num_turns",
                "total_cost_usd", "setup", "last_checkpoint", "error"}


def load(paths: FeaturePaths) -> dict[str, Any]:
    """sessions.json as plain data when it has the expected shape; anything else goes
    through the full check, which names the fix."""
    try:
        data = json.loads(files.read_text(paths.state_file) or "null")
        if is_shaped(data):
            return data  # type: ignore[no-any-return]
    except (OSError, ValueError):
        pass
    from dispatch.state.store import StateStore  # the full check, with its message naming the fix

    return StateStore(paths).load().model_dump(mode="json")


def is_shaped(data: Any) -> bool:
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
        return False
    records = data.get("workstreams")
    return isinstance(data.get("feature"), str) and isinstance(data.get("base"), str) and \
        isinstance(records, dict) and all(_shaped_record(r) for r in records.values())


def _shaped_record(record: Any) -> bool:
    return isinstance(record, dict) and RECORD_KEYS <= record.keys() and \
        isinstance(record["setup"], dict) and \
        all(_finite(record[key]) for key in ("total_cost_usd", "num_turns", "attempts"))


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and \
        value == value and abs(value) != float("inf")


def snapshot(paths: FeaturePaths, threads: int = 4) -> Snapshot:
    state = load(paths)
    supervisor = locks.holder_if_locked(paths.lock("supervisor"))
    records = list(state["workstreams"].values())
    tips = refs.branch_tips(paths.root)
    views = dict(zip([r["name"] for r in records],
                     parallel_map(partial(_live, paths, state, tips), records, threads),
                     strict=True))
    dead = [r["name"] for r in records if r["status"] == "running"
            and not views[r["name"]].alive and not views[r["name"]].unrecorded]
    if dead and supervisor is None:
        state = _mark_interrupted(paths, dead)
    return Snapshot(state, views, supervisor, datetime.now(timezone.utc))


def _live(paths: FeaturePaths, state: dict[str, Any], tips: dict[str, str],
          record: Record) -> Live:
    worktree = paths.worktree(record["name"])
    exists = (worktree / ".git").exists()
    done, total = workfiles.count_tasks(worktree)
    alive = record["pid"] is not None and procs.is_alive(record["pid"], record["pid_started"])
    live = Live(alive=alive, exists=exists, tasks_done=done, tasks_total=total,
                commits_ahead=0, uncommitted=0,
                results=workfiles.own_file(worktree, workfiles.RESULTS) is not None,
                unrecorded=record["status"] == "running" and not alive and _has_result(
                    paths, record),
                activity=_activity(paths, record["name"]) if record["status"] == "running"
                else None)
    try:  # one worktree that git cannot read (a worker broke it) is that row's problem
        live.commits_ahead = _own_commits(paths, state, tips, record)
        live.uncommitted = len([p for p in tree.dirty_paths(worktree)
                                if not p.startswith(workfiles.WORK_DIR)]) if exists else 0
    except DispatchError as exc:
        live.problem = exc.message
    return live


def _activity(paths: FeaturePaths, name: str) -> dict[str, Any] | None:
    """The supervisor's summary of the worker's stream (sessions/watchers.py)."""
    try:
        found = json.loads(files.read_text(paths.activity(name)) or "null")
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def _own_commits(paths: FeaturePaths, state: dict[str, Any], tips: dict[str, str],
                 record: Record) -> int:
    """Commits on the branch that are its own: not the base's, not its dependencies'."""
    tip = tips.get(record["branch"])
    if tip in (None, state["base"]):
        return 0
    records = state["workstreams"]
    deps = [tips[records[d]["branch"]] for d in record.get("depends_on") or []
            if d in records and records[d]["branch"] in tips]
    return refs.count_own_commits(paths.root, tip, [state["base"], *deps])


def _has_result(paths: FeaturePaths, record: Record) -> bool:
    from dispatch.sessions import run_result  # only for a run whose process is gone: rare

    files = run_result.run_files(paths, record["name"], record["attempts"])
    return run_result.outcome_of(0, files).kind in ("success", "error")


def _mark_interrupted(paths: FeaturePaths, names: list[str]) -> dict[str, Any]:
    from dispatch.state.store import StateStore

    def change(state: Any) -> Any:
        for name in names:
            record = state.workstreams[name]
            if record.status == "running" and not procs.is_alive(record.pid, record.pid_started):
                record.status = "interrupted"
                record.error = ("its process ended without reporting (resume it: 'dispatch "
                                f"resume {name}')")
        return state

    return StateStore(paths).update(change).model_dump(mode="json")  # type: ignore[no-any-return]


@dataclass
class Totals:
    by_status: dict[str, int]
    cost_usd: float
    tasks_done: int
    tasks_total: int
    tasks_per_hour: float | None
    eta_hours: float | None


def totals(snap: Snapshot) -> Totals:
    by_status: dict[str, int] = {}
    for record in snap.records:
        by_status[record["status"]] = by_status.get(record["status"], 0) + 1
    done = sum(v.tasks_done for v in snap.live.values())
    total = sum(v.tasks_total for v in snap.live.values())
    starts = [parse_time(r["started_at"]) for r in snap.records if r["started_at"]]
    hours = (snap.taken_at - min(starts)).total_seconds() / 3600 if starts else 0.0
    rate = done / hours if hours > 0 and done else None
    eta = (total - done) / rate if rate else None
    cost = sum(r["total_cost_usd"] for r in snap.records) + _judge_costs(snap.state)
    return Totals(by_status, round(cost, 6), done, total,
                  round(rate, 2) if rate else None, round(eta, 2) if eta is not None else None)


def _judge_costs(state: dict[str, Any]) -> float:
    """What the judges of competing teams cost (sessions.json `teams`, absent in older
    files): part of the feature's cost like any session's."""
    teams = state.get("teams") or {}
    costs = [(t.get("judge") or {}).get("total_cost_usd") for t in teams.values()
             if isinstance(t, dict)] if isinstance(teams, dict) else []
    return sum((float(cost) for cost in costs if isinstance(cost, int | float) and
                _finite(cost)), 0.0)


def parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
