"""`dispatch status`, `resume`, `stop` and `logs`: watching and steering the sessions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dispatch.cli.app import app
from dispatch.cli.options import Claude, Feature, FeatureArg, Json


@app.command("status")
def status_command(
    feature: FeatureArg = None,
    *,
    as_json: Json = False,
    watch: Annotated[bool, typer.Option(help="Refresh in place until Ctrl-C.")] = False,
    interval: Annotated[float, typer.Option(min=0.2, help="Seconds between refreshes.")] = 2.0,
    verbose: Annotated[bool, typer.Option(
        "--verbose", "-v", help="Also show session ids, pids and ports.")] = False,
) -> None:
    """Show each workstream's session, progress, commits and cost."""
    from dispatch.commands.status import show

    raise typer.Exit(show.command(feature, as_json=as_json, watch_=watch,
                                        interval=interval, verbose=verbose))


@app.command("resume")
def resume_command(
    workstream: Annotated[str | None, typer.Argument(
        help="The workstream to resume (or --all).")] = None,
    *,
    feature: Feature = None,
    prompt: Annotated[str | None, typer.Option(
        help="What to tell the session (default: check your work and continue).")] = None,
    all_: Annotated[bool, typer.Option(
        "--all", help="Every interrupted, failed-transient or needs-attention workstream.")
    ] = False,
    force: Annotated[bool, typer.Option(help="Stop a running session first.")] = False,
    wait: Annotated[bool, typer.Option(help="Stay until the session ends.")] = False,
    claude: Claude = None,
) -> None:
    """Resume a workstream's recorded session in its worktree (or start it if it never ran)."""
    from dispatch.commands import resume
    from dispatch.core import ui
    from dispatch.gitops import repository
    from dispatch.state.paths import FeaturePaths, pick_feature

    root = repository.find(Path.cwd()).root
    paths = FeaturePaths(root, pick_feature(root, feature))
    names, supervision = resume.resume(paths, workstream, all_=all_, prompt=prompt,
                                       force=force, claude=claude)
    ui.say(f"resuming {', '.join(names)}; follow with: dispatch status {paths.feature} "
           "--watch")
    if wait:
        raise typer.Exit(resume.wait(supervision, names))


@app.command("stop")
def stop_command(
    feature: FeatureArg = None,
    workstream: Annotated[str | None, typer.Argument(
        help="Only this workstream (default: all, and the supervisor).")] = None,
) -> None:
    """End running sessions (their whole process group); they stay resumable."""
    from dispatch.core import ui
    from dispatch.gitops import repository
    from dispatch.sessions import client
    from dispatch.state.paths import FeaturePaths, pick_feature
    from dispatch.state.store import StateStore

    root = repository.find(Path.cwd()).root
    paths = FeaturePaths(root, pick_feature(root, feature))
    known = list(StateStore(paths).load().workstreams)
    if workstream is not None and workstream not in known:
        from dispatch.state.names import unknown_workstream

        raise unknown_workstream(paths.feature, workstream, known)
    stopped = client.stop(paths, [workstream] if workstream else None)
    ui.say(f"stopped {', '.join(stopped)}" if stopped else "nothing was running")


@app.command("logs")
def logs_command(
    workstream: Annotated[str, typer.Argument(help="The workstream.")],
    *,
    feature: Feature = None,
    all_runs: Annotated[bool, typer.Option("--all", help="Every run, not just the last.")
                        ] = False,
) -> None:
    """Show a session's raw output (the result JSON) and its stderr."""
    from dispatch.commands import logs
    from dispatch.gitops import repository
    from dispatch.state.paths import FeaturePaths, pick_feature

    root = repository.find(Path.cwd()).root
    logs.show(FeaturePaths(root, pick_feature(root, feature)), workstream, all_runs=all_runs)


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
