"""`dispatch start`: from a spec (or an existing feature) to provisioned worktrees and a
supervisor that sets them up and runs their sessions — returning in seconds.

Everything that can refuse runs before anything changes: the spec's checks, the claude
program (it must run; an untested version is a warning), a spec's dangerous permissions.
Then provisioning (worktrees, branches, .env, task files, state), a snapshot of the spec in
the feature folder (the workers read exactly what was planned), and the supervisor, which
runs each worktree's setup before its session. What it did is said precisely.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from dispatch.commands import instruction_files, spec_snapshot
from dispatch.commands.start_input import classify, create_spec
from dispatch.core import render, ui
from dispatch.core.errors import DispatchError
from dispatch.gitops.repository import Repo
from dispatch.sessions import claude_cli, client
from dispatch.sessions import queue as work_queue
from dispatch.spec import safety
from dispatch.state.model import FeatureState, RunSettings
from dispatch.state.paths import FeaturePaths
from dispatch.state.plan import AgentOptions, Plan, QueueSettings
from dispatch.state.store import StateStore
from dispatch.workspace.preflight import StartOptions
from dispatch.workspace.provision import provision

DEFAULT_PARALLEL = 4


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
    allow_setup_failure: bool = False
    setup_jobs: int = 4
    on_event: str | None = None
    integrate: bool | None = None  # None: the spec's `integrate`, else off
    fix_rounds: int | None = None
    batch: bool | None = None
    adaptive: bool = True  # ease off when the API pushes back (sessions/pacing.py)


@dataclass
class Shape:
    """What the command line changes in the plan: competing teams and the judge."""

    teams: dict[str, int] = field(default_factory=dict)  # --teams audio=2
    judge: bool = False  # --judge


@dataclass
class Outcome:
    state: FeatureState | None = None
    new_spec: Path | None = None
    supervision: client.Supervision | None = None  # when sessions were started
    queued: list[str] = field(default_factory=list)  # what this start (re)launches


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


def start(repo: Repo, target: str | list[str], options: StartOptions,
          sessions: SessionOptions | None, shape: Shape | None = None, *,
          feature: str | None = None, queue: bool = False,
          batch_size: int | None = None, new: bool = False) -> Outcome:
    """`target`: a spec, a feature, a new name; or two or more instruction files (one
    workstream each, in the feature `feature` or one named after them). `shape`: competing
    teams asked for on the command line. `queue`/`batch_size`: `--queue [--batch-size K]`
    (either turns the queue on; the frontmatter's `queue: {batch_size: K}` does too).
    `new`: a name close to an existing feature or spec still makes a new spec skeleton."""
    from dispatch.spec.view import warning_lines

    targets = [target] if isinstance(target, str) else target
    if len(targets) > 1:
        if shape is not None and shape.teams:
            raise DispatchError("--teams applies to the workstreams of a spec; instruction "
                                "files run as one worker each")
        plan, snapshot = instruction_files.plan_of(targets, Path.cwd(), repo.root, feature)
        return _launch(repo, _queued(plan, queue, batch_size), options, sessions,
                       snapshot=snapshot)
    if feature is not None:
        raise DispatchError("--feature names the feature of instruction files (two or more); "
                            "a spec names its own (frontmatter `feature:`)")
    given = classify(targets[0], Path.cwd(), repo.root, new=new)
    if given.kind == "new":
        return Outcome(new_spec=create_spec(repo.root, given.value))
    plan, spec_path = _plan(repo, given.kind, given.value, shape or Shape())
    plan = _queued(plan, queue, batch_size)
    _expect_no_teams_in_a_queue(plan)
    for line in warning_lines(plan):
        ui.say_err(line)
    return _launch(repo, plan, options, sessions, spec_path=spec_path)


ACTIVE = ("provisioning", "setting_up", "pending", "waiting", "running", "retrying")


def _expect_nothing_live_dropped(state: FeatureState | None, plan: Plan) -> None:
    """An edited spec (or another set of instruction files) may leave out a workstream that
    ran; not one whose session runs or is about to: it would be orphaned mid-run."""
    if state is None:
        return
    dropped = [name for name in state.names() if not plan.has(name)
               and state.workstreams[name].status in ACTIVE]
    if dropped:
        raise DispatchError(f"the spec no longer has {', '.join(dropped)}, whose session is "
                            f"running or due to run in feature '{plan.feature}': put it back, "
                            f"or stop it first ('dispatch stop {dropped[0]} --feature "
                            f"{plan.feature}')")


def _launch(repo: Repo, plan: Plan, options: StartOptions, sessions: SessionOptions | None,
            *, spec_path: Path | None = None, snapshot: str | None = None) -> Outcome:
    store = StateStore(FeaturePaths(repo.root, plan.feature))
    before = store.load() if store.exists() else None  # the feature as it stands, if it does
    _expect_nothing_live_dropped(before, plan)
    run = _run_settings(plan, sessions) if sessions else None
    if run is not None and sessions is not None:
        run = _carried_over(run, before.run if before else None, sessions, plan)
    options.setup_now = run is None  # with sessions, the supervisor runs setup
    render.check_overrides(repo.root)  # one of them broken: stop before anything is made
    state = provision(repo, plan, options, progress=ui.progress, warn=ui.warn)
    paths = FeaturePaths(repo.root, plan.feature)
    if spec_path is not None:
        spec_snapshot.write(paths, spec_path)
        spec_snapshot.warn_if_uncommitted(repo.root, spec_path)
    if snapshot is not None:
        spec_snapshot.write_text(paths, snapshot)
    if plan.queue is not None or state.queue is not None:
        state = StateStore(paths).update(partial(work_queue.ensure, plan=plan))
        _warn_if_recut(plan, state)
    if run is None:
        return Outcome(state=state)
    queued = client.set_run(StateStore(paths), run)
    supervision = client.Supervision(paths)
    return Outcome(state=client.wait_launched(supervision), supervision=supervision,
                   queued=queued)


def _expect_no_teams_in_a_queue(plan: Plan) -> None:
    """A queue hands a workstream's batches to its one session; competing teams are several
    sessions on the same tasks: the two do not combine (yet)."""
    teamed = [ws.name for ws in plan.workstreams if ws.teams]
    if plan.queue is not None and teamed:
        raise DispatchError(f"{', '.join(teamed)} run(s) as competing teams, which a queue "
                            "(--queue, frontmatter `queue:`) cannot hand batches to; drop the "
                            "queue or the teams")


def _plan(repo: Repo, kind: str, value: str, shape: Shape) -> tuple[Plan, Path | None]:
    from dispatch.spec import teams
    from dispatch.spec.parse import NoWorkstreams, parse_spec
    from dispatch.spec.source import resolve_spec_path

    if kind == "spec":
        path = resolve_spec_path(value, Path.cwd(), repo.root)
        try:
            plan = parse_spec(path)
        except NoWorkstreams as exc:
            raise DispatchError(f"{exc.message}; or, if it is one worker's instructions, pass "
                                "it with the others (two or more files: dispatch start a.md "
                                "b.md) to run each as a worker") from None
        store = StateStore(FeaturePaths(repo.root, plan.feature))
        state = store.load() if store.exists() else None
        return teams.for_feature(plan, state, shape.teams, shape.judge), path
    state = StateStore(FeaturePaths(repo.root, value)).load()
    return teams.for_feature(state.plan, state, shape.teams, shape.judge), None


def _warn_if_recut(plan: Plan, state: FeatureState) -> None:
    kept = state.queue.batch_size if state.queue else None
    if plan.queue is not None and kept is not None and plan.queue.batch_size != kept:
        ui.warn(f"the queue of {state.feature} keeps its batches of {kept} (a batch already "
                f"handed out is never cut again); --batch-size {plan.queue.batch_size} is "
                "not used")


def _queued(plan: Plan, queue: bool, batch_size: int | None) -> Plan:
    if not queue and batch_size is None:
        return plan
    size = batch_size or (plan.queue.batch_size if plan.queue else work_queue.DEFAULT_BATCH_SIZE)
    return plan.model_copy(update={"queue": QueueSettings(batch_size=size)})


def _run_settings(plan: Plan, sessions: SessionOptions) -> RunSettings:
    dangerous = safety.dangerous_modes(plan, sessions.agent.permission_mode)
    if dangerous and not sessions.allow_bypass:
        who, mode = next(iter(dangerous.items()))
        raise DispatchError(f"{who} sets permission_mode {mode}: its workers could run any "
                            "command without asking; if you trust this spec, run again with "
                            "--allow-bypass (or pass --permission-mode to choose another)")
    if sessions.rehearse:
        program = claude_cli.rehearsal_program()
    else:
        program = claude_cli.find_claude(sessions.claude)
        for warning in claude_cli.expect_runs(program):
            ui.warn(warning)
    parallel = sessions.max_parallel or _env_parallel() or plan.max_parallel or DEFAULT_PARALLEL
    return RunSettings(worker="rehearsal" if sessions.rehearse else "claude", claude=program,
                       agent=sessions.agent, max_parallel=parallel,
                       budget_usd=sessions.budget_usd or plan.budget_usd,
                       max_attempts=sessions.retries + 1, backoff_base=sessions.retry_delay,
                       follow_up=sessions.follow_up, session_timeout=sessions.session_timeout,
                       setup_jobs=sessions.setup_jobs,
                       allow_setup_failure=sessions.allow_setup_failure,
                       on_event=sessions.on_event or plan.on_event,
                       integrate=bool(sessions.integrate if sessions.integrate is not None
                                      else plan.integrate),
                       fix_rounds=sessions.fix_rounds if sessions.fix_rounds is not None
                       else plan.fix_rounds if plan.fix_rounds is not None else 2,
                       batch=sessions.batch, adaptive=sessions.adaptive)


def _carried_over(run: RunSettings, before: RunSettings | None, sessions: SessionOptions,
                  plan: Plan) -> RunSettings:
    """A feature started again (after a stop, a crash, a fix) keeps what its first start
    chose and this one does not say: its budget, its autopilot, its pace and hooks. Asked for
    again on the command line or in the spec, the new choice wins."""
    if before is None:
        return run
    kept: dict[str, object] = {}
    if sessions.integrate is None and plan.integrate is None:
        kept["integrate"] = before.integrate
    if sessions.fix_rounds is None and plan.fix_rounds is None:
        kept["fix_rounds"] = before.fix_rounds
    if sessions.batch is None:
        kept["batch"] = before.batch
    if sessions.budget_usd is None and plan.budget_usd is None:
        kept["budget_usd"] = before.budget_usd
    if sessions.max_parallel is None and _env_parallel() is None and plan.max_parallel is None:
        kept["max_parallel"] = before.max_parallel
    if sessions.on_event is None and plan.on_event is None:
        kept["on_event"] = before.on_event
    return run.model_copy(update=kept)


def _env_parallel() -> int | None:
    raw = os.environ.get("MAX_CLAUDE_WORKERS")
    if raw is None:
        return None
    if not raw.isdigit() or not 1 <= int(raw) <= 64:
        raise DispatchError(f"MAX_CLAUDE_WORKERS={raw!r} is not a number from 1 to 64; fix or "
                            "unset it")
    return int(raw)
