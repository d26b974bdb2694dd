"""`dispatch check` and `dispatch integrate`: predicting conflicts and merging the work."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dispatch.cli.app import app
from dispatch.cli.options import FeatureArg, Format, Json

_REMOTE = "Across machines"
_COLLECT = "Collect data segments"


@app.command("check")
def check_command(feature: FeatureArg = None, *, as_json: Json = False,
                  fmt: Format = None) -> None:
    """Predict merge conflicts between every pair of workstream branches (and with the
    base), and list changes outside each workstream's owned files. Touches nothing."""
    from dispatch.commands import target
    from dispatch.commands.check import check, check_table
    from dispatch.core import ui

    chosen = None if as_json else ui.choose_format(fmt)
    checked = check(target.feature(feature))
    if chosen is None:
        ui.print_json(checked.prediction.as_json())
    else:
        ui.show(check_table(checked), chosen)


@app.command("integrate")
def integrate_command(
    feature: FeatureArg = None,
    *,
    include: Annotated[list[str] | None, typer.Option(
        help="Also merge workstreams with this status (repeatable; default: done only).")
    ] = None,
    only: Annotated[str | None, typer.Option(
        help="Merge exactly these workstreams (comma separated), whatever their status.")
    ] = None,
    verify: Annotated[str | None, typer.Option(
        help="Command run in the integration worktree after each merge; a merge that makes "
             "it fail is taken back out (default: the spec's `verify`).")] = None,
    stop_on_conflict: Annotated[bool, typer.Option(
        help="Stop at the first conflict instead of going on with the next branch.")] = False,
    batch: Annotated[bool | None, typer.Option(
        "--batch/--no-batch", show_default="when verify takes 5s or more",
        help="Merge the ready branches together and verify once; when that fails, search "
             "for the merge that breaks it.")] = None,
    verify_jobs: Annotated[int, typer.Option(
        min=1, help="Verify runs at once while searching a failed batch.")] = 2,
    force: Annotated[bool, typer.Option(
        help="Integrate into an existing integration branch that dispatch did not make.")
    ] = False,
    remote: Annotated[str | None, typer.Option(
        help="Fetch the workstream branches from this git remote first.",
        rich_help_panel=_REMOTE)] = None,
    push: Annotated[bool, typer.Option(
        help="Push the integration branch to --remote when it is green.",
        rich_help_panel=_REMOTE)] = False,
    pattern: Annotated[str | None, typer.Option(
        help="Integrate branches matching this glob (e.g. 'claude/segment-*'), even ones "
             "dispatch did not create.", rich_help_panel=_REMOTE)] = None,
    base: Annotated[str | None, typer.Option(
        help="With --pattern: where the integration branch starts (default: HEAD).",
        rich_help_panel=_REMOTE)] = None,
    watch: Annotated[bool, typer.Option(
        help="Keep polling --remote and integrate new matching branches until Ctrl-C.",
        rich_help_panel=_REMOTE)] = False,
    interval: Annotated[float, typer.Option(
        min=1, help="Seconds between polls with --watch.", rich_help_panel=_REMOTE)] = 60.0,
    min_branches: Annotated[int, typer.Option(
        min=1, help="With --pattern: wait until at least this many branches have come "
             "(merged ones since deleted count).",
        rich_help_panel=_REMOTE)] = 1,
    delete_merged: Annotated[bool, typer.Option(
        help="Delete merged branches on --remote afterwards.", rich_help_panel=_REMOTE)
    ] = False,
    retry_delay: Annotated[float, typer.Option(
        min=0, help="First pause before retrying a failed fetch or push (doubles each time).",
        rich_help_panel=_REMOTE)] = 2.0,
    collect: Annotated[str | None, typer.Option(
        help="After merging, combine the JSON files matching this glob (e.g. "
             "'staging/*.json', from the repository's top) into --into.",
        rich_help_panel=_COLLECT)] = None,
    into: Annotated[str | None, typer.Option(
        help="With --collect: the file to write and commit on the integration branch.",
        rich_help_panel=_COLLECT)] = None,
    key: Annotated[str | None, typer.Option(
        help="With --collect: merge records (objects) by this member instead of "
             "concatenating arrays.", rich_help_panel=_COLLECT)] = None,
    schema: Annotated[Path | None, typer.Option(
        help="With --collect: a JSON Schema file every segment must match.",
        rich_help_panel=_COLLECT)] = None,
    as_json: Json = False,
) -> None:
    """Merge every done workstream into <feature>/integration (in its own worktree),
    verifying after each merge (or each batch), and write INTEGRATION.md."""
    from dispatch.commands import integrate
    from dispatch.gitops import repository, worktrees

    repo = repository.find(Path.cwd())
    repository.expect_identity(repo)  # every merge is a commit
    worktrees.ensure_excluded(repo.git_dir)  # (--pattern makes .worktrees/ without a start)
    root = repo.root
    request = integrate.Request(
        feature=feature, include=tuple(include or ("done",)),
        only=[n.strip() for n in only.split(",") if n.strip()] if only else None,
        verify=verify, stop_on_conflict=stop_on_conflict, force=force, remote=remote,
        push=push, pattern=pattern, base=base, watch=watch, interval=interval,
        min_branches=min_branches, delete_merged=delete_merged, as_json=as_json,
        retry_delay=retry_delay, batch=batch, verify_jobs=verify_jobs, collect_glob=collect,
        into=into, key=key, schema=schema)
    raise typer.Exit(integrate.run(root, request))


@app.command("clean")
def clean_command(
    feature: FeatureArg = None,
    *,
    force: Annotated[bool, typer.Option(
        help="Also remove worktrees with uncommitted changes and unmerged branches.")
    ] = False,
    all_: Annotated[bool, typer.Option(
        "--all", help="Also delete the integration branch (once it is merged elsewhere).")
    ] = False,
    remote: Annotated[str | None, typer.Option(
        help="Also delete the feature's merged branches on this git remote.")] = None,
    dry_run: Annotated[bool, typer.Option(help="Print what would be done; change nothing.")
    ] = False,
) -> None:
    """Stop the feature's sessions, remove its worktrees and merged branches, and archive
    its state under .worktrees/.archive/ — refusing to drop unmerged or uncommitted work."""
    from dispatch.commands import clean
    from dispatch.core import ui
    from dispatch.gitops import repository
    from dispatch.state.paths import FeaturePaths, pick_feature
    from dispatch.state.store import StateStore

    root = repository.find(Path.cwd()).root
    paths = FeaturePaths(root, pick_feature(root, feature))
    state = StateStore(paths).load()
    todo = clean.plan(paths, state, force=force, all_=all_)
    if remote is not None:
        clean.remote_branches(paths, state, todo, remote, all_)
    if dry_run:
        lines = clean.describe(paths, state, todo)
    else:
        lines = clean.execute(paths, todo, retry_delay=2.0)
    for line in lines:
        ui.say(line)
    for kept in todo.kept:  # (plain: whole lines when piped, a worker's names made visible)
        ui.say_err(f"kept {kept}")
    raise typer.Exit(1 if todo.kept else 0)
