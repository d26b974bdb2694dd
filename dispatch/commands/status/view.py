"""`dispatch status` output: the JSON document (a public interface) and the table."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

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
    }


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
    }


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
    Column("note", "note: {}", wide=True)]
VERBOSE = [Column("session", "session {}", drop=6), Column("pid", "pid {}", drop=5),
           Column("ports", "ports {}", drop=5)]


def status_table(snap: Snapshot, verbose: bool = False) -> Table:
    run = snap.state.get("run") or {}
    rehearsal = " — REHEARSAL (no Claude sessions, no cost)" \
        if run.get("worker") == "rehearsal" else ""
    columns = [*COLUMNS[:2], *(VERBOSE if verbose else []), *COLUMNS[2:]]
    table = Table(f"{snap.state['feature']}{rehearsal}", columns,
                  footer=footer(snap, totals(snap)))
    for record in snap.records:
        table.add(*_row(snap, record, verbose))
    return table


def _row(snap: Snapshot, record: Record, verbose: bool) -> list[str]:
    live = snap.live[record["name"]]
    status = record["status"] + (" (rehearsal)" if record["worker"] == "rehearsal" else "")
    commits = f"{live.commits_ahead}" + (f" +{live.uncommitted} dirty" if live.uncommitted
                                          else "")
    row = [record["name"], status, f"{live.tasks_done}/{live.tasks_total}", commits,
           f"${record['total_cost_usd']:.2f}", str(record["num_turns"]),
           _clock(_duration(record, snap.taken_at)), _note(snap, record, live)]
    if verbose:
        row[2:2] = [record["session_id"] or "-",
                    f"{record['pid'] or '-'}" + (" alive" if live.alive else ""),
                    " ".join(f"{k}={v}" for k, v in record["ports"].items()) or "-"]
    return row


def _note(snap: Snapshot, record: Record, live: Any) -> str:
    note = record["error"] or record["last_checkpoint"] or ""
    setup = record["setup"]
    if setup.get("status") == "failed" and record["status"] != "setup_failed":
        note = f"setup failed (see {setup.get('log')}). " + note
    if live.unrecorded:
        note = (f"finished; not recorded yet (no supervisor is running: 'dispatch start "
                f"{snap.state['feature']}' records it)")
    if live.problem:
        note = f"git cannot read it: {live.problem}. " + note
    if not live.exists and record["status"] != "provisioning":
        note = (f"worktree missing: 'dispatch start {snap.state['feature']}' recreates it. "
                + note)
    return note + (" [RESULTS.md]" if live.results else "")


def footer(snap: Snapshot, summary: Totals) -> list[str]:
    counts = ", ".join(f"{n} {s}" for s, n in sorted(summary.by_status.items()))
    line = (f"{counts} · cost ${summary.cost_usd:.2f} · tasks {summary.tasks_done}/"
            f"{summary.tasks_total}")
    if summary.tasks_per_hour:
        line += f" · {summary.tasks_per_hour:g} tasks/h"
    if summary.eta_hours is not None:
        line += f" · ETA {_clock(summary.eta_hours * 3600)}"
    supervisor = f"supervisor pid {snap.supervisor}" if snap.supervisor else "no supervisor"
    lines = [f"{line} · {supervisor}"]
    failed = [r["name"] for r in snap.records if r["setup"].get("status") == "failed"]
    if failed:
        lines.append(f"setup failed in {len(failed)} worktree(s): {', '.join(failed)} — see "
                     f"'dispatch logs <workstream> --setup', retry with 'dispatch setup "
                     f"{snap.state['feature']}'")
    return lines


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
