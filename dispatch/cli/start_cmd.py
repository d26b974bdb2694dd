"""`dispatch start SPEC_OR_FEATURE`: provision every workstream and start its session."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dispatch.cli.app import app
from dispatch.cli.options import Claude, Format, Json

_SESSIONS = "Sessions"
_AUTOPILOT = "Autopilot"
_TEAMS = "Competing teams"
_QUEUE = "Queue"


@app.command("start")
def start_command(
    targets: Annotated[list[str], typer.Argument(
        metavar="SPEC_OR_FEATURE | FILE FILE...",
        help="A spec (specs/x.md, @specs/x.md), an existing feature to continue, or a new "
             "feature name to create a spec skeleton for. Or two or more instruction files "
             "(markdown, no Workstreams section): one workstream per file, named after it "
             "(worker1_instructions.md -> worker1), its whole text as the task.")],
    *,
    feature: Annotated[str | None, typer.Option(
        "--feature", help="With instruction files: the feature's name (default: the start "
        "their file names share, e.g. worker1.md, worker2.md -> worker; else their folder's "
        "name).")] = None,
    no_agents: Annotated[bool, typer.Option(
        "--no-agents", help="Provision only: worktrees, branches, .env, setup, TASKS.md.")] = False,
    rehearse: Annotated[bool, typer.Option(
        help="Run the built-in rehearsal worker instead of claude: no tokens, no cost.")
    ] = False,
    wait: Annotated[bool, typer.Option(
        help="Stay in the foreground until every session has finished.")] = False,
    base: Annotated[str | None, typer.Option(
        help="Branch or commit the workstreams start from (default: HEAD).")] = None,
    base_port: Annotated[int | None, typer.Option(
        help="PORT of workstream N is this + N (default: frontmatter, .env PORT, 8000).")] = None,
    setup: Annotated[str | None, typer.Option(
        help="Setup command run in each worktree (default: frontmatter `setup`, or uv sync / "
             "npm ci when their lock file exists).")] = None,
    no_setup: Annotated[bool, typer.Option("--no-setup", help="Skip the setup command.")] = False,
    no_env: Annotated[bool, typer.Option("--no-env", help="Do not copy .env.")] = False,
    force: Annotated[bool, typer.Option(
        help="Adopt existing workstream branches that dispatch did not make, as they are.")
    ] = False,
    setup_jobs: Annotated[int, typer.Option(min=1, max=32,
                                            help="Setup commands run at once.")] = 4,
    claude: Claude = None,
    model: Annotated[str | None, typer.Option(
        help="Model for every session (default: frontmatter, else sonnet).",
        rich_help_panel=_SESSIONS)] = None,
    permission_mode: Annotated[str | None, typer.Option(
        help="claude --permission-mode (default acceptEdits).", rich_help_panel=_SESSIONS)
    ] = None,
    allowed_tools: Annotated[str | None, typer.Option(
        help="claude --allowedTools, comma separated (default Bash).",
        rich_help_panel=_SESSIONS)] = None,
    max_turns: Annotated[int | None, typer.Option(min=1, rich_help_panel=_SESSIONS,
                                                  help="Turn limit per session run.")] = None,
    max_budget_usd: Annotated[float | None, typer.Option(
        min=0.01, help="Dollar limit per session run (claude --max-budget-usd).",
        rich_help_panel=_SESSIONS)] = None,
    budget_usd: Annotated[float | None, typer.Option(
        min=0.01, help="Dollar limit for the whole feature: no launch or resume beyond it.",
        rich_help_panel=_SESSIONS)] = None,
    max_parallel: Annotated[int | None, typer.Option(
        min=1, max=64, help="Sessions at once (default: $MAX_CLAUDE_WORKERS, frontmatter, 4); "
        "halved while the API answers 429/529, raised again as runs end well.",
        rich_help_panel=_SESSIONS)] = None,
    fixed_parallel: Annotated[bool, typer.Option(
        "--fixed-parallel", help="Keep --max-parallel even when the API pushes back.",
        rich_help_panel=_SESSIONS)] = False,
    retries: Annotated[int, typer.Option(
        min=0, max=10, help="Retries of a transient failure (resuming the same session).",
        rich_help_panel=_SESSIONS)] = 4,
    retry_delay: Annotated[float, typer.Option(
        min=0, help="First retry pause in seconds; each next one doubles (2, 4, 8, 16).",
        rich_help_panel=_SESSIONS)] = 2.0,
    follow_up: Annotated[bool, typer.Option(
        help="Resume once a session that ended with its work incomplete.",
        rich_help_panel=_SESSIONS)] = True,
    session_timeout: Annotated[float | None, typer.Option(
        min=1, help="Stop a session run after this many seconds.",
        rich_help_panel=_SESSIONS)] = None,
    allow_bypass: Annotated[bool, typer.Option(
        "--allow-bypass", help="Run a spec that sets permission_mode bypassPermissions (its "
        "workers may run any command without asking).", rich_help_panel=_SESSIONS)] = False,
    allow_setup_failure: Annotated[bool, typer.Option(
        "--allow-setup-failure", help="Start a session even when its worktree's setup failed "
        "(default: it waits, and status says why).", rich_help_panel=_SESSIONS)] = False,
    on_event: Annotated[str | None, typer.Option(
        "--on-event", metavar="CMD", help="Run CMD (a shell command) with a JSON event on its "
        "stdin when a workstream is done, needs attention, fails or is blocked, when the budget "
        "is reached, and when all have finished.", rich_help_panel=_SESSIONS)] = None,
    integrate: Annotated[bool | None, typer.Option(
        "--integrate/--no-integrate", show_default="frontmatter `integrate: auto`, else off",
        help="Autopilot: merge each workstream into <feature>/integration as soon as it is "
             "done; hand conflicts and red verifies back to its session.",
        rich_help_panel=_AUTOPILOT)] = None,
    fix_rounds: Annotated[int | None, typer.Option(
        min=0, max=10, show_default="2", help="Fix rounds per workstream before it needs "
        "a person (with --integrate).", rich_help_panel=_AUTOPILOT)] = None,
    batch: Annotated[bool | None, typer.Option(
        "--batch/--no-batch", show_default="when verify takes 5s or more",
        help="With --integrate: merge ready branches together and verify once.",
        rich_help_panel=_AUTOPILOT)] = None,
    teams: Annotated[list[str] | None, typer.Option(
        "--teams", metavar="WS=N", help="Run workstream WS as N competing teams (attempts "
        "WS.t1 ... WS.tN; evidence picks one). Repeatable.", rich_help_panel=_TEAMS)] = None,
    judge: Annotated[bool, typer.Option(
        "--judge", help="A judge session (counted in the budget) reviews the teams' diffs and "
        "RESULTS.md and may choose among the attempts that pass.", rich_help_panel=_TEAMS)
    ] = False,
    queue: Annotated[bool, typer.Option(
        "--queue", help="Work through each workstream's tasks in batches, resuming the same "
        "session with the next batch after each passes its done check; a workstream that "
        "runs out takes batches whose files stay disjoint (also frontmatter `queue:`).",
        rich_help_panel=_QUEUE)] = False,
    batch_size: Annotated[int | None, typer.Option(
        min=1, max=10_000, show_default="frontmatter `queue: {batch_size}`, else 20",
        help="Tasks per batch (implies --queue).", rich_help_panel=_QUEUE)] = None,
    new: Annotated[bool, typer.Option(
        "--new", help="A new feature name: make its spec skeleton even when the name is close "
        "to a feature or spec that exists (without it, that is taken for a typo).")] = False,
    as_json: Json = False,
    fmt: Format = None,
) -> None:
    """Create a worktree and branch per workstream (.env and ports, TASKS.md, a snapshot of
    the spec), then hand them to a background supervisor that runs each one's setup and its
    headless Claude Code session. Returns in seconds; --wait stays until they end.

    With two or more instruction files instead of a spec, each file is one workstream and
    everything else is the same. $MAX_CLAUDE_WORKERS is the default of --max-parallel and
    $CLAUDE_CLI_PATH of --claude."""
    from dispatch.commands import start, start_view
    from dispatch.core import ui
    from dispatch.gitops import repository
    from dispatch.workspace.preflight import StartOptions

    repo = repository.find(Path.cwd())
    options = StartOptions(base=base, base_port=base_port, setup=setup, run_setup=not no_setup,
                           copy_env=not no_env, force=force, setup_jobs=setup_jobs)
    sessions = None if no_agents else start.SessionOptions(
        rehearse=rehearse, claude=claude, max_parallel=max_parallel, budget_usd=budget_usd,
        retries=retries, retry_delay=retry_delay, follow_up=follow_up,
        session_timeout=session_timeout, allow_bypass=allow_bypass,
        allow_setup_failure=allow_setup_failure, setup_jobs=setup_jobs, on_event=on_event,
        integrate=integrate, fix_rounds=fix_rounds, batch=batch, adaptive=not fixed_parallel,
        agent=start.agent_options(model=model, permission_mode=permission_mode,
                                  allowed_tools=allowed_tools, max_turns=max_turns,
                                  max_budget_usd=max_budget_usd))
    from dispatch.spec.teams import parse_counts

    chosen = None if as_json else ui.choose_format(fmt)
    shape = start.Shape(teams=parse_counts(teams or []), judge=judge)
    outcome = start.start(repo, targets, options, sessions, shape, feature=feature, queue=queue,
                          batch_size=batch_size, new=new)
    raise typer.Exit(start_view.show(repo, outcome, fmt=chosen, wait=wait))
