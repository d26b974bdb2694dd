"""How a plan is shown: the JSON document and the table `dispatch plan` prints, with what
the coordinator must tell a person before anything is spent: how many sessions, which model
and permissions, the caps, and what is known about the cost."""

from __future__ import annotations

from typing import Any

from dispatch.core.table import Column, Table
from dispatch.state.plan import DEFAULT_AGENT, AgentOptions, Plan

COLUMNS = [Column("#", "{}.", right=True), Column("workstream"),
           Column("depends on", "after {}", drop=3), Column("files", "files {}", drop=2),
           Column("tasks", "{} tasks", right=True), Column("goal", "goal: {}", wide=True)]


def plan_json(plan: Plan) -> dict[str, Any]:
    """The public JSON form of a plan (documented in the README)."""
    return plan.model_dump(mode="json")


def plan_table(plan: Plan) -> Table:
    table = Table(f"{plan.title} — feature '{plan.feature}', {len(plan.workstreams)} "
                  "workstreams", COLUMNS, footer=spending(plan))
    for ws in plan.workstreams:
        depends = ", ".join(ws.depends_on) or (f"({ws.dependency_note})"
                                                if ws.dependency_note else "")
        table.add(str(ws.number), ws.name, depends, ", ".join(ws.files),
                  str(len(ws.tasks)), ws.goal)
    return table


def spending(plan: Plan) -> list[str]:
    """Sessions, model, permissions, caps and cost, as the spec sets them (the command line
    of `dispatch start` may change them)."""
    agent = DEFAULT_AGENT.overlay(plan.agent)
    models = sorted({DEFAULT_AGENT.overlay(plan.agent).overlay(ws.agent).model or "sonnet"
                     for ws in plan.workstreams})
    sessions = len(plan.workstreams)
    lines = [f"{sessions} Claude session(s) · model {', '.join(models)} · permission mode "
             f"{agent.permission_mode} · tools {', '.join(agent.allowed_tools or []) or '-'}"]
    caps = [f"feature budget ${plan.budget_usd:g}" if plan.budget_usd else
            "no feature budget", f"${agent.max_budget_usd:g} per session run"
            if agent.max_budget_usd else "no per-run cap",
            f"{agent.max_turns} turns per run" if agent.max_turns else "no turn cap"]
    lines.append("caps: " + " · ".join(caps))
    lines.append(_cost(plan, agent, sessions))
    return lines


def _cost(plan: Plan, agent: AgentOptions, sessions: int) -> str:
    if plan.budget_usd:
        return f"cost: at most ${plan.budget_usd:g} (the feature budget stops new sessions there)"
    if agent.max_budget_usd:
        bound = agent.max_budget_usd * sessions
        return (f"cost: about ${bound:g} at most for one run of each session (--max-budget-usd "
                "per run); retries and follow-ups can add runs")
    return ("cost: dispatch cannot estimate it before the sessions run; cap it with "
            "--budget-usd (the whole feature) or --max-budget-usd (each session run)")
