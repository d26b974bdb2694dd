"""How a plan is shown: the JSON document and the table `dispatch plan` prints, with what
the coordinator must tell a person before anything is spent: how many sessions, which model
and permissions, the caps, and what is known about the cost; the notes and the warnings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dispatch.core.table import Column, Table
from dispatch.core.text import visible_line
from dispatch.spec.source import display_path
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
        name = f"{ws.name} ×{ws.teams.count} teams" if ws.teams else ws.name
        table.add(str(ws.number), name, depends, ", ".join(ws.files),
                  str(len(ws.tasks)), ws.goal)
    return table


def spending(plan: Plan) -> list[str]:
    """Sessions, model, permissions, caps and cost, as the spec sets them (the command line
    of `dispatch start` may change them)."""
    agent = DEFAULT_AGENT.overlay(plan.agent)
    models = sorted({DEFAULT_AGENT.overlay(plan.agent).overlay(ws.agent).model or "sonnet"
                     for ws in plan.attempts()})
    sessions = plan.sessions() + len(judged(plan))
    lines = [f"{sessions} Claude session(s){_teams_said(plan)} · model {', '.join(models)} · "
             f"permission mode {agent.permission_mode} · tools "
             f"{', '.join(agent.allowed_tools or []) or '-'}"]
    lines += [f"teams: {ws.name} × {ws.teams.count}: " + "; ".join(
        f"team {n}: {ws.teams.approach(n) or 'no approach given'}"
        + (f" ({ws.teams.model(n)})" if ws.teams.model(n) else "")
        for n in range(1, ws.teams.count + 1)) for ws in plan.workstreams if ws.teams]
    caps = [f"feature budget ${plan.budget_usd:g}" if plan.budget_usd else
            "no feature budget", f"${agent.max_budget_usd:g} per session run"
            if agent.max_budget_usd else "no per-run cap",
            f"{agent.max_turns} turns per run" if agent.max_turns else "no turn cap"]
    lines.append("caps: " + " · ".join(caps))
    lines.append(_cost(plan, agent, sessions))
    return lines


def judged(plan: Plan, judge: bool = False) -> list[str]:
    """The teamed workstreams whose teams a judge session will review (`judge`: --judge)."""
    return [ws.name for ws in plan.workstreams if ws.teams and (
        ws.teams.judge if ws.teams.judge is not None else judge or bool(plan.judge))]


def _teams_said(plan: Plan) -> str:
    """How competing teams multiply the sessions, said where the count is."""
    teamed = [ws for ws in plan.workstreams if ws.teams]
    if not teamed:
        return ""
    said = ", ".join(f"{ws.name} by {ws.teams.count} competing teams" for ws in teamed
                     if ws.teams)
    judges = judged(plan)
    return f" ({said}" + (f"; {len(judges)} judge session(s)" if judges else "") + ")"


def _cost(plan: Plan, agent: AgentOptions, sessions: int) -> str:
    if plan.budget_usd:
        return f"cost: at most ${plan.budget_usd:g} (the feature budget stops new sessions there)"
    if agent.max_budget_usd:
        bound = agent.max_budget_usd * sessions
        return (f"cost: about ${bound:g} at most for one run of each session (--max-budget-usd "
                "per run); retries and follow-ups can add runs")
    return ("cost: dispatch cannot estimate it before the sessions run; cap it with "
            "--budget-usd (the whole feature) or --max-budget-usd (each session run)")


def notes_lines(plan: Plan) -> list[str]:
    """The spec's fields that dispatch does not use, one line each: `name: Label: value`."""
    return [f"{ws.name}: {visible_line(note)}" for ws in plan.workstreams for note in ws.notes]


def warning_lines(plan: Plan, shown: str | None = None) -> list[str]:
    """Each warning as `file:line: warning: message` (the spec named as in errors)."""
    where = shown or display_path(Path(plan.spec))
    return [f"{where}:{w.line}: warning: {visible_line(w.message)}" if w.line is not None else
            f"{where}: warning: {visible_line(w.message)}" for w in plan.warnings]
