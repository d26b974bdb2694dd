"""`dispatch status`, `resume`, `stop`, `logs`, `setup` and `repair`: watching and steering
the sessions. Commands that act on workstreams take them the same way: `WORKSTREAM...`
arguments, and `-f FEATURE` when the repository has several features."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dispatch.cli import complete
from dispatch.cli.app import app
from dispatch.cli.options import (
    Claude,
    Feature,
    FeatureArg,
    Format,
    Json,
    Workstream,
    Workstreams,
)


@app.command("status")
def status_command(
    feature_arg: FeatureArg = None,
    *,
    feature: Feature = None,
    as_json: Json = False,
    fmt: Format = None,
    watch: Annotated[bool, typer.Option(help="Refresh in place until Ctrl-C.")] = False,
    interval: Annotated[float, typer.Option(min=0.2, help="Seconds between refreshes.")] = 2.0,
    verbose: Annotated[bool, typer.Option(
        "--verbose", "-v", help="Also show session ids, pids and ports.")] = False,
) -> None:
    """Show each workstream's status, tasks, commits, cost, turns, time and note (the whole
    note, in every format), with the totals."""
    from dispatch.commands.status import show

    if feature_arg and feature and feature_arg != feature:
        raise typer.BadParameter("the feature is named twice, differently; name it once")
    raise typer.Exit(show.command(feature_arg or feature, as_json=as_json, watch_=watch,
                                  interval=interval, verbose=verbose, fmt=fmt))


@app.command("resume")
def resume_command(
    workstream: Annotated[str | None, typer.Argument(
        help="The workstream to resume (or --all).",
        autocompletion=complete.workstream_names)] = None,
    *,
    feature: Feature = None,
    prompt: Annotated[str | None, typer.Option(
        help="What to tell the session (default: check your work and continue).")] = None,
    all_: Annotated[bool, typer.Option(
        "--all", help="Everything that stopped short of done for a reason a resume can fix: "
                      "interrupted, stopped, retrying, needs attention, failed on a "
                      "transient error, and what a login problem held back.")] = False,
    force: Annotated[bool, typer.Option(help="Stop a running session first.")] = False,
    wait: Annotated[bool, typer.Option(help="Stay until the session ends.")] = False,
    claude: Claude = None,
) -> None:
    """Resume a workstream's recorded session in its worktree (or start it if it never ran)."""
    from dispatch.commands import resume, target
    from dispatch.core import ui

    paths, named = target.workstreams(feature, [workstream] if workstream else [])
    names, supervision = resume.resume(paths, named[0] if named else None, all_=all_,
                                       prompt=prompt, force=force, claude=claude)
    ui.say(f"resuming {', '.join(names)}; follow with: dispatch status {paths.feature} "
           "--watch")
    if wait:
        raise typer.Exit(resume.wait(supervision, names))


@app.command("stop")
def stop_command(workstreams: Workstreams = None, *, feature: Feature = None) -> None:
    """End running sessions and setups (their whole process groups); they stay resumable.
    Without WORKSTREAM, every one of the feature's, and its supervisor."""
    from dispatch.commands import target
    from dispatch.core import ui
    from dispatch.sessions import client

    paths, names = target.workstreams(feature, workstreams or [])
    stopped = client.stop(paths, names or None)
    ui.say(f"stopped {', '.join(stopped)}" if stopped else "nothing was running")


@app.command("logs")
def logs_command(
    workstream: Workstream,
    *,
    feature: Feature = None,
    all_runs: Annotated[bool, typer.Option("--all", help="Every run, not just the last.")
                        ] = False,
    setup: Annotated[bool, typer.Option("--setup", help="Only its setup log.")] = False,
) -> None:
    """Show a session's raw output (the result JSON) and its stderr, and its setup and
    verify logs."""
    from dispatch.commands import logs, target

    paths, (name,) = target.workstreams(feature, [workstream])
    logs.show(paths, name, all_runs=all_runs, setup_only=setup)


@app.command("setup")
def setup_command(workstreams: Workstreams = None, *, feature: Feature = None,
                  jobs: Annotated[int, typer.Option(min=1, max=32,
                                                    help="Setups run at once.")] = 4) -> None:
    """Run the setup command again in these worktrees (default: every one whose setup
    failed), each with its log; sessions waiting on it carry on when it passes."""
    from dispatch.commands import setup, target
    from dispatch.core import ui

    paths, names = target.workstreams(feature, workstreams or [])
    done = setup.rerun(paths, names, jobs)
    for ran in done:
        ui.say(f"{ran.name}: setup {ran.result.status} (exit {ran.result.exit_code}, "
               f"{ran.result.seconds or 0:.1f}s) — log {ran.result.log}")
    raise typer.Exit(0 if all(r.result.status == "ok" for r in done) else 1)


@app.command("repair")
def repair_command(
    feature: Annotated[str, typer.Argument(help="The feature whose sessions.json to rebuild.")],
    *,
    spec: Annotated[Path | None, typer.Option(
        help="The feature's spec, when plan.json is lost too.")] = None,
    force: Annotated[bool, typer.Option(help="Rebuild even a readable sessions.json.")] = False,
) -> None:
    """Rebuild a deleted or damaged sessions.json from git (branches, reflogs, worktrees)
    and the session logs; the damaged file is kept beside it."""
    from dispatch.commands import repair
    from dispatch.core import ui
    from dispatch.gitops import repository
    from dispatch.state import names
    from dispatch.state.paths import FeaturePaths

    root = repository.find(Path.cwd()).root
    paths = FeaturePaths(root, names.check_feature_name(feature))
    state = repair.repair(paths, spec, force)
    for record in state.workstreams.values():
        ui.say(f"{record.name}: {record.status}, {record.attempts} run(s), "
               f"${record.total_cost_usd:.2f}" + (f", session {record.session_id}"
                                                  if record.session_id else ""))
    ui.say(f"rebuilt {paths.relative(paths.state_file)}; check it with 'dispatch status "
           f"{feature}'")
