"""`dispatch start` from input to outcome, and what it prints."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dispatch.commands.start_input import classify, create_spec
from dispatch.core import ui
from dispatch.core.errors import DispatchError
from dispatch.gitops.repository import Repo
from dispatch.sessions import claude_cli, client
from dispatch.spec import safety
from dispatch.state.model import FeatureState, RunSettings
from dispatch.state.paths import FeaturePaths
from dispatch.state.plan import AgentOptions, Plan
from dispatch.state.store import StateStore
from dispatch.workspace.preflight import StartOptions
from dispatch.workspace.provision import provision

DEFAULT_PARALLEL = 4
# Re-running start relaunches what was waiting to run or died without anyone choosing so.
RELAUNCH = ("pending", "interrupted")


@dataclass
class SessionOptions:
    rehearse: bool = False
    claude: str | None = None
    agent: AgentOptions = field(default_factory=AgentOptions)
    max_parallel: int | None = None
    budget_usd: float | None = None
    retries: int = 4
    retry_delay: float = 2.0
    follow_up: bool = True
    session_timeout: float | None = None
    allow_bypass: bool = False  # the person confirms a spec's bypassPermissions


@dataclass
class Outcome:
    state: FeatureState | None = None
    new_spec: Path | None = None
    supervision: client.Supervision | None = None  # when sessions were started


def agent_options(*, model: str | None, permission_mode: str | None,
                  allowed_tools: str | None, max_turns: int | None,
                  max_budget_usd: float | None) -> AgentOptions:
    from pydantic import ValidationError

    tools = [t.strip() for t in allowed_tools.split(",") if t.strip()] if allowed_tools else None
    try:
        return AgentOptions.model_validate({
            "model": model, "permission_mode": permission_mode, "allowed_tools": tools,
            "max_turns": max_turns, "max_budget_usd": max_budget_usd})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise DispatchError(f"--{str(first['loc'][0]).replace('_', '-')}: "
                            f"{first['msg'].lower()}") from None


def start(repo: Repo, target: str, options: StartOptions,
          sessions: SessionOptions | None) -> Outcome:
    from dispatch.spec.view import warning_lines

    given = classify(target, Path.cwd(), repo.root)
    if given.kind == "new":
        return Outcome(new_spec=create_spec(repo.root, given.value))
    plan = _plan(repo, given.kind, given.value)
    for line in warning_lines(plan):
        ui.diagnostic(line)
    # Everything that can refuse runs before provisioning changes anything.
    run = _run_settings(plan, sessions) if sessions else None
    state = provision(repo, plan, options, progress=ui.progress, warn=ui.warn)
    if run is None:
        return Outcome(state=state)
    paths = FeaturePaths(repo.root, plan.feature)
    client.set_run(StateStore(paths), run, RELAUNCH)
    supervision = client.Supervision(paths)
    return Outcome(state=client.wait_launched(supervision), supervision=supervision)


def _plan(repo: Repo, kind: str, value: str) -> Plan:
    from dispatch.spec.parse import parse_spec
    from dispatch.spec.source import resolve_spec_path

    if kind == "spec":
        return parse_spec(resolve_spec_path(value, Path.cwd(), repo.root))
    return StateStore(FeaturePaths(repo.root, value)).load().plan


def _run_settings(plan: Plan, sessions: SessionOptions) -> RunSettings:
    dangerous = safety.dangerous_modes(plan, sessions.agent.permission_mode)
    if dangerous and not sessions.allow_bypass:
        who, mode = next(iter(dangerous.items()))
        raise DispatchError(f"{who} sets permission_mode {mode}: its workers could run any "
                            "command without asking; if you trust this spec, run again with "
                            "--allow-bypass (or pass --permission-mode to choose another)")
    program = claude_cli.rehearsal_program() if sessions.rehearse else \
        claude_cli.find_claude(sessions.claude)
    parallel = sessions.max_parallel or _env_parallel() or plan.max_parallel or DEFAULT_PARALLEL
    return RunSettings(worker="rehearsal" if sessions.rehearse else "claude", claude=program,
                       agent=sessions.agent, max_parallel=parallel,
                       budget_usd=sessions.budget_usd or plan.budget_usd,
                       max_attempts=sessions.retries + 1, backoff_base=sessions.retry_delay,
                       follow_up=sessions.follow_up,
                       session_timeout=sessions.session_timeout)


def _env_parallel() -> int | None:
    raw = os.environ.get("MAX_CLAUDE_WORKERS")
    if raw is None:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 64:
        raise DispatchError(f"MAX_CLAUDE_WORKERS={raw!r} is not a number from 1 to 64; fix or "
                            "unset it")
    return int(raw)


def show(repo: Repo, outcome: Outcome, *, as_json: bool, wait: bool) -> int:
    """Print the outcome; with `wait`, follow the sessions until they end. Exit code."""
    from dispatch.commands.status import show

    if outcome.new_spec is not None:
        ui.say(new_spec_message(outcome.new_spec))
        return 0
    assert outcome.state is not None
    paths = FeaturePaths(repo.root, outcome.state.feature)
    if outcome.supervision is None:
        if as_json:
            ui.print_json(summary_json(repo, outcome.state))
        else:
            ui.out().print(summary_table(repo, outcome.state))
        return 0
    if wait:
        return show.follow_until_done(outcome.supervision, as_json=as_json)
    show.print_status(paths, as_json=as_json)
    if not as_json:
        ui.say(next_steps(outcome.state.feature))
    return 0


def next_steps(feature: str) -> str:
    return (f"Sessions run in the background. Follow them: dispatch status {feature} --watch · "
            f"logs: dispatch logs <workstream> · resume one: dispatch resume <workstream> · "
            f"when done: dispatch integrate {feature}")


def new_spec_message(path: Path) -> str:
    shown = os.path.relpath(path, Path.cwd())
    return (f"Created {shown}.\nFill in the feature description and its Workstreams section "
            "(one '### Workstream N: Title' per parallel unit, each with a **Goal**, its "
            f"**Files** and task bullets), then run: dispatch start {shown}")


def summary_json(repo: Repo, state: FeatureState) -> dict[str, Any]:
    paths = FeaturePaths(repo.root, state.feature)
    return {
        "feature": state.feature, "base": state.base, "dir": str(paths.dir),
        "workstreams": [
            {"name": r.name, "status": r.status, "branch": r.branch,
             "path": str(repo.root / r.path), "ports": r.ports,
             "setup": r.setup.model_dump(mode="json")}
            for r in state.workstreams.values()],
    }


def summary_table(repo: Repo, state: FeatureState) -> Any:
    from rich.table import Table

    paths = FeaturePaths(repo.root, state.feature)
    table = Table(title=f"feature '{state.feature}' from {state.base[:12]}: worktrees in "
                  f"{paths.relative(paths.dir)}/<workstream>, branches "
                  f"{state.feature}/<workstream>", title_justify="left")
    for column in ("workstream", "ports", "setup", "status"):
        table.add_column(column, overflow="fold")
    for record in state.workstreams.values():
        ports = " ".join(f"{k}={v}" for k, v in record.ports.items())
        setup = record.setup.status + (f" (see {record.setup.log})"
                                       if record.setup.status == "failed" else "")
        odd_branch = "" if record.branch == f"{state.feature}/{record.name}" else \
            f" (branch {record.branch})"
        table.add_row(record.name + odd_branch, ports, setup, record.status)
    return table
