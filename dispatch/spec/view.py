"""How a plan is shown: the JSON document and the table `dispatch plan` prints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dispatch.state.plan import Plan

if TYPE_CHECKING:
    from rich.table import Table


def plan_json(plan: Plan) -> dict[str, Any]:
    """The public JSON form of a plan (documented in the README)."""
    return plan.model_dump(mode="json")


def plan_table(plan: Plan) -> Table:
    from rich.table import Table

    table = Table(title=f"{plan.title} — feature '{plan.feature}', "
                  f"{len(plan.workstreams)} workstreams", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("workstream", no_wrap=True)
    table.add_column("depends on", no_wrap=True)
    table.add_column("files", overflow="fold")
    table.add_column("tasks", justify="right")
    table.add_column("goal", ratio=1)
    for ws in plan.workstreams:
        depends = "\n".join(ws.depends_on) or (f"({ws.dependency_note})"
                                                if ws.dependency_note else "-")
        table.add_row(str(ws.number), ws.name, depends, "\n".join(ws.files) or "-",
                      str(len(ws.tasks)), ws.goal)
    return table
