"""How a plan is shown: the JSON document, the table `dispatch plan` prints, its notes and
its warnings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from dispatch.core.text import visible
from dispatch.spec.source import display_path
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


def notes_lines(plan: Plan) -> list[str]:
    """The spec's fields that dispatch does not use, one line each: `name: Label: value`."""
    return [f"{ws.name}: {visible(note)}" for ws in plan.workstreams for note in ws.notes]


def warning_lines(plan: Plan, shown: str | None = None) -> list[str]:
    """Each warning as `file:line: warning: message` (the spec named as in errors)."""
    where = shown or display_path(Path(plan.spec))
    return [f"{where}:{w.line}: warning: {visible(w.message)}" if w.line is not None else
            f"{where}: warning: {visible(w.message)}" for w in plan.warnings]
