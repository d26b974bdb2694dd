"""The queue's progress for `status` (`start --queue`): items done of total per workstream and
overall, a rate and an ETA — read from sessions.json as plain data, like the rest of status.

An item is done when its batch passed the done check. Per workstream, items count against
the list they belong to (its own), whoever did them; `by_its_session` counts what its own
session did, batches taken from other lists included. The rate is items per hour between
the first batch handed out and the latest batch that passed; the ETA is what is left over
that rate (0 once nothing is left, none before a batch has passed).
"""

from __future__ import annotations

from typing import Any

from dispatch.commands.status.collect import parse_time


def progress(state: dict[str, Any]) -> dict[str, Any] | None:
    queue = state.get("queue")
    if not isinstance(queue, dict):
        return None
    batches = [b for b in queue.get("batches") or [] if isinstance(b, dict)]
    names = list(state["workstreams"])
    names += sorted({b.get("owner") for b in batches} - set(names) - {None})
    per = [_one(name, batches) for name in names]
    overall = _rate(batches, sum(len(b.get("items") or []) for b in batches))
    return {"batch_size": queue.get("batch_size"),
            "batches_done": sum(b.get("status") == "done" for b in batches),
            "batches_total": len(batches),
            "batches_taken": sum(b.get("worker") not in (None, b.get("owner")) for b in batches),
            **overall, "workstreams": per}


def _one(name: str, batches: list[dict[str, Any]]) -> dict[str, Any]:
    own = [b for b in batches if b.get("owner") == name]
    worked = [b for b in batches if b.get("worker") == name]
    current = next((b for b in worked if b.get("status") == "assigned"), None)
    rate = _rate(worked, sum(len(b.get("items") or []) for b in worked))
    left = sum(len(b.get("items") or []) for b in own if b.get("status") != "done")
    speed = rate["items_per_hour"]
    return {
        "name": name, "items_done": _items(own, "done"),
        "items_total": sum(len(b.get("items") or []) for b in own),
        "batches_done": sum(b.get("status") == "done" for b in own), "batches_total": len(own),
        "by_its_session": _items(worked, "done"), "items_per_hour": rate["items_per_hour"],
        "eta_hours": 0.0 if not left else round(left / speed, 3) if speed else None,
        "batch": None if current is None else f"{current.get('owner')} {current.get('number')}",
        "taken": sorted({f"{b.get('owner')} {b.get('number')}" for b in worked
                         if b.get("owner") != name}),
    }


def _items(batches: list[dict[str, Any]], status: str) -> int:
    return sum(len(b.get("items") or []) for b in batches if b.get("status") == status)


def _rate(batches: list[dict[str, Any]], total: int) -> dict[str, Any]:
    done = _items(batches, "done")
    starts = [parse_time(b["assigned_at"]) for b in batches if b.get("assigned_at")]
    ends = [parse_time(b["done_at"]) for b in batches if b.get("done_at")]
    hours = (max(ends) - min(starts)).total_seconds() / 3600 if starts and ends else 0.0
    rate = done / hours if hours > 0 and done else None
    left = total - done
    eta = 0.0 if not left else round(left / rate, 3) if rate else None
    return {"items_done": done, "items_total": total,
            "items_per_hour": round(rate, 1) if rate else None, "eta_hours": eta}
