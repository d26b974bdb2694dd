"""`dispatch status` output: the JSON document (a public interface) and the table."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from dispatch.commands.status import queue_progress
from dispatch.commands.status.collect import Record, Snapshot, Totals, parse_time, totals
from dispatch.core.table import Column, Table


def status_json(snap: Snapshot) -> dict[str, Any]:
    state = snap.state
    return {
        "feature": state["feature"], "base": state["base"], "spec": state["spec"],
        "worker": (state.get("run") or {}).get("worker"),
        "supervisor": {"pid": snap.supervisor, "alive": snap.supervisor is not None},
        "workstreams": [_record_json(snap, record) for record in snap.records],
        "totals": asdict(totals(snap)),
        "autopilot": _autopilot_json(snap),
        "concurrency": _concurrency_json(snap),
        "collisions": _collisions_json(snap),
        "teams": {name: _team_json(team) for name, team in _teams(snap).items()},
        "queue": queue_progress.progress(state),
    }


def _teams(snap: Snapshot) -> dict[str, Any]:
    """Workstreams run by competing teams (README: Competing teams); {} in older files."""
    found = snap.state.get("teams") or {}
    return found if isinstance(found, dict) else {}


def _team_json(team: dict[str, Any]) -> dict[str, Any]:
    judge = team.get("judge") or {}
    return {"attempts": team.get("attempts", []), "picked": team.get("picked"),
            "picked_by": team.get("picked_by"), "reason": team.get("reason"),
            "comparison": team.get("comparison"),
            "judge": {"cost_usd": judge.get("total_cost_usd", 0.0),
                      "winner": judge.get("winner"), "problem": judge.get("problem")}
            if judge.get("attempts") or judge.get("problem") else None}


def _picked(snap: Snapshot, record: Record) -> bool | None:
    """Whether an attempt is its workstream's pick (None: not an attempt, or no pick yet)."""
    team = _teams(snap).get(record.get("team_of") or "")
    if not team or not team.get("picked"):
        return None
    return bool(team["picked"] == record["name"])


def _collisions_json(snap: Snapshot) -> list[dict[str, Any]]:
    """The conflict radar's live collisions: two branches that no longer merge cleanly."""
    merges = (snap.state.get("integration") or {}).get("merges") or {}
    records = snap.state["workstreams"]

    def landed(name: str) -> bool:  # merged at its current tip: resolved in integration
        merge, record = merges.get(name) or {}, records.get(name) or {}
        return merge.get("status") == "merged" and merge.get("tip") == record.get("tip")

    return [{"a": c["a"], "b": c["b"], "files": c["files"], "since": c["since"]}
            for c in snap.state.get("collisions") or []
            if not (landed(c["a"]) and landed(c["b"]))]


def _concurrency_json(snap: Snapshot) -> dict[str, Any]:
    run = snap.state.get("run") or {}
    limit = run.get("limit")
    return {"max_parallel": run.get("max_parallel"), "limit": limit,
            "why": run.get("limit_reason") if limit is not None else None}


def _autopilot_json(snap: Snapshot) -> dict[str, Any] | None:
    run = snap.state.get("run") or {}
    if not run.get("integrate"):
        return None
    integration = snap.state.get("integration") or {}
    merges = integration.get("merges") or {}
    return {"integration_branch": integration.get("branch"), "fix_rounds": run.get("fix_rounds"),
            "landed": sorted(n for n, m in merges.items() if m.get("status") == "merged")}


def _merge_of(snap: Snapshot, name: str) -> dict[str, Any] | None:
    merges = (snap.state.get("integration") or {}).get("merges") or {}
    found: dict[str, Any] | None = merges.get(name)
    return found


def _record_json(snap: Snapshot, record: Record) -> dict[str, Any]:
    live = snap.live[record["name"]]
    return {
        "name": record["name"], "status": record["status"], "worker": record["worker"],
        "session_id": record["session_id"], "branch": record["branch"],
        "path": record["path"], "ports": record["ports"], "pid": record["pid"],
        "pid_alive": live.alive, "started_at": record["started_at"],
        "finished_at": record["finished_at"], "duration_s": _duration(record, snap.taken_at),
        "num_turns": record["num_turns"], "cost_usd": record["total_cost_usd"],
        "attempts": record["attempts"], "tasks_done": live.tasks_done,
        "tasks_total": live.tasks_total, "commits_ahead": live.commits_ahead,
        "uncommitted_files": live.uncommitted, "results_md": live.results,
        "worktree_exists": live.exists, "setup": record["setup"]["status"],
        "last_checkpoint": record["last_checkpoint"], "error": record["error"],
        "problem": live.problem, "notes": record.get("notes", []),
        "activity": _activity_json(live, snap.taken_at),
        "merge": (_merge_of(snap, record["name"]) or {}).get("status"),
        "rounds": record.get("rounds", []),
        "team_of": record.get("team_of"), "team": record.get("team"),
        "picked": _picked(snap, record),
    }


def _activity_json(live: Any, at: datetime) -> dict[str, Any] | None:
    if not live.activity:
        return None
    last = live.activity.get("last_event")
    quiet = round(at.timestamp() - last, 1) if isinstance(last, int | float) else None
    return {**live.activity, "quiet_s": quiet,
            "quiet": quiet is not None and quiet > QUIET_AFTER}


def _duration(record: Record, at: datetime) -> float | None:
    if not record["started_at"]:
        return None
    finished = record["finished_at"]
    end = parse_time(finished) if record["status"] != "running" and finished else at
    return round((end - parse_time(record["started_at"])).total_seconds(), 1)


COLUMNS = [
    Column("workstream"), Column("status"), Column("tasks", "tasks {}"),
    Column("commits", "commits {}", drop=3), Column("cost", right=True),
    Column("turns", "{} turns", drop=4, right=True), Column("time", drop=2),
    Column("now", "now: {}", drop=1), Column("note", "note: {}", wide=True)]
# A running worker with no event for this long is flagged: stuck, or waiting on something.
QUIET_AFTER = 10 * 60
VERBOSE = [Column("session", "session {}", drop=6), Column("pid", "pid {}", drop=5),
           Column("ports", "ports {}", drop=5)]


def status_table(snap: Snapshot, verbose: bool = False) -> Table:
    run = snap.state.get("run") or {}
    rehearsal = " — REHEARSAL (no Claude sessions, no cost)" \
        if run.get("worker") == "rehearsal" else ""
    columns = [*COLUMNS[:2], *(VERBOSE if verbose else []), *COLUMNS[2:]]
    rows = []
    for record in snap.records:
        if record.get("team_of") and record.get("team") == 1:  # the teams under their workstream
            rows.append(_team_row(snap, str(record.get("team_of")), columns))
        rows.append(_row(snap, record, verbose))
    queue = queue_progress.progress(snap.state)
    if queue is not None:  # with a queue, its items say more than TASKS.md's boxes
        _items_column(columns, rows, queue)
    now = columns.index(COLUMNS[-2])
    if not any(row[now] for row in rows):  # nobody is working: no empty "now" column
        del columns[now]
        rows = [row[:now] + row[now + 1:] for row in rows]
    table = Table(f"{snap.state['feature']}{rehearsal}", columns,
                  footer=footer(snap, totals(snap)))
    for row in rows:
        table.add(*row)
    return table


def _items_column(columns: list[Column], rows: list[list[str]], queue: dict[str, Any]) -> None:
    at = columns.index(COLUMNS[2])
    columns[at] = Column("items", "items {}")
    counts = {w["name"]: f"{w['items_done']}/{w['items_total']}" for w in queue["workstreams"]}
    for row in rows:
        row[at] = counts.get(row[0], "-")


def _row(snap: Snapshot, record: Record, verbose: bool) -> list[str]:
    live = snap.live[record["name"]]
    status = record["status"] + (" (rehearsal)" if record["worker"] == "rehearsal" else "")
    commits = f"{live.commits_ahead}" + (f" +{live.uncommitted} dirty" if live.uncommitted
                                          else "")
    row = [record["name"], status, f"{live.tasks_done}/{live.tasks_total}", commits,
           f"${record['total_cost_usd']:.2f}", str(record["num_turns"]),
           _clock(_duration(record, snap.taken_at)), doing(live, snap.taken_at),
           _note(snap, record, live)]
    if verbose:
        row[2:2] = [record["session_id"] or "-",
                    f"{record['pid'] or '-'}" + (" alive" if live.alive else ""),
                    " ".join(f"{k}={v}" for k, v in record["ports"].items()) or "-"]
    return row


def _team_row(snap: Snapshot, name: str, columns: list[Column]) -> list[str]:
    """A workstream run by teams: where its comparison and pick stand."""
    team = _teams(snap).get(name) or {}
    attempts = team.get("attempts") or []
    records = snap.state["workstreams"]
    statuses = [records[a]["status"] for a in attempts if a in records]
    if team.get("picked"):
        status = f"picked {team['picked']}"
    elif any(s in ("pending", "waiting", "running", "retrying", "setting_up", "provisioning")
             for s in statuses):
        status = "teams at work"
    else:
        status = "no pick yet"
    by = {"rule": "by the rule", "judge": "by the judge", "person": "by a person"}.get(
        team.get("picked_by") or "", "")
    note = "; ".join(part for part in (
        f"{len(attempts)} competing teams", by, team.get("reason") or "",
        team.get("comparison") or "") if part)
    cost = (team.get("judge") or {}).get("total_cost_usd") or 0.0
    row = [""] * len(columns)
    row[0], row[1], row[-1] = name, status, note
    row[[c.header for c in columns].index("cost")] = f"judge ${cost:.2f}" if cost else ""
    return row


def doing(live: Any, at: datetime) -> str:
    """`Edit app/cli/main.py (12s)`, `thinking (3s)`, or `quiet for 12m (last: …)`."""
    activity = live.activity
    if not activity or not activity.get("now"):
        return ""
    now_s = at.timestamp()
    last = activity.get("last_event") or activity.get("since")
    if isinstance(last, int | float) and now_s - last > QUIET_AFTER:
        return f"quiet for {_clock(now_s - last)} (last: {activity['now']})"
    since = activity.get("since")
    age = f" ({_clock(now_s - since)})" if isinstance(since, int | float) else ""
    return f"{activity['now']}{age}"


def _note(snap: Snapshot, record: Record, live: Any) -> str:
    note = _landing(snap, record) or record["error"] or record["last_checkpoint"] or ""
    picked = _picked(snap, record)
    if picked is not None:
        note = ("picked. " if picked else "not picked. ") + note
    setup = record["setup"]
    if setup.get("status") == "failed" and record["status"] != "setup_failed":
        note = f"setup failed (see {setup.get('log')}). " + note
    if live.unrecorded and snap.supervisor is not None:
        note = "finished; the supervisor is recording it"
    elif live.unrecorded:
        note = (f"finished; not recorded yet (no supervisor is running: 'dispatch start "
                f"{snap.state['feature']}' records it)")
    if live.problem:
        note = f"git cannot read it: {live.problem}. " + note
    if not live.exists and record["status"] != "provisioning":
        note = (f"worktree missing: 'dispatch start {snap.state['feature']}' recreates it. "
                + note)
    return note + (" [RESULTS.md]" if live.results else "")


def _landing(snap: Snapshot, record: Record) -> str:
    """Where a done workstream stands with the autopilot (`start --integrate`)."""
    autopilot = _autopilot_json(snap)
    if autopilot is None or record["status"] != "done":
        return ""
    merge = _merge_of(snap, record["name"]) or {}
    rounds = len(record.get("rounds") or [])
    after = f" after {rounds} fix round(s)" if rounds else ""
    if merge.get("status") == "merged" and merge.get("tip") == record.get("tip"):
        return f"landed in {autopilot['integration_branch']}{after}"
    if record["error"]:  # e.g. the landing itself failed: say why, not "waiting"
        return ""
    return f"waiting to land{after}"


def footer(snap: Snapshot, summary: Totals) -> list[str]:
    counts = ", ".join(f"{n} {s}" for s, n in sorted(summary.by_status.items()))
    line = (f"{counts} · cost ${summary.cost_usd:.2f} · tasks {summary.tasks_done}/"
            f"{summary.tasks_total}")
    if summary.tasks_per_hour:
        line += f" · {summary.tasks_per_hour:g} tasks/h"
    if summary.eta_hours is not None:
        line += f" · ETA {_clock(summary.eta_hours * 3600)}"
    queue = queue_progress.progress(snap.state)
    if queue is not None:  # TASKS.md holds the first batch only: the queue line counts
        line = f"{counts} · cost ${summary.cost_usd:.2f}"
    supervisor = f"supervisor pid {snap.supervisor}" if snap.supervisor else "no supervisor"
    lines = [f"{line} · {supervisor}"]
    if queue is not None:
        lines.append(_queue_line(queue))
    pace = _concurrency_json(snap)
    if pace["limit"] is not None:
        lines.append(f"easing off: {pace['limit']} session(s) at once, of "
                     f"{pace['max_parallel']}: {pace['why']}")
    for collision in _collisions_json(snap):
        since = parse_time(collision["since"]).strftime("%H:%M")
        lines.append(f"collision: {collision['a']} × {collision['b']} both change "
                     f"{', '.join(collision['files'])} (since {since} UTC)")
    autopilot = _autopilot_json(snap)
    if autopilot is not None:
        lines.append(f"autopilot: {len(autopilot['landed'])} of {len(snap.records)} landed in "
                     f"{autopilot['integration_branch'] or snap.state['feature'] + '/integration'}")
    failed = [r["name"] for r in snap.records if r["setup"].get("status") == "failed"]
    if failed:
        lines.append(f"setup failed in {len(failed)} worktree(s): {', '.join(failed)} — see "
                     f"'dispatch logs <workstream> --setup', retry with 'dispatch setup "
                     f"{snap.state['feature']}'")
    return lines


def _queue_line(queue: dict[str, Any]) -> str:
    """`queue: 120/200 items · batches 6/11 of 20 (1 taken) · 950 items/h · ETA 5m03s`."""
    line = (f"queue: {queue['items_done']}/{queue['items_total']} items · batches "
            f"{queue['batches_done']}/{queue['batches_total']} of {queue['batch_size']}")
    if queue["batches_taken"]:
        line += f" ({queue['batches_taken']} taken by another workstream)"
    if queue["items_per_hour"]:
        line += f" · {queue['items_per_hour']:g} items/h"
    if queue["eta_hours"] is not None:
        line += f" · ETA {_clock(queue['eta_hours'] * 3600)}"
    return line


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
