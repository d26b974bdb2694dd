"""`dispatch split`: a work list -> a spec of workstreams with disjoint files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dispatch.cli.app import app
from dispatch.cli.options import Format

if TYPE_CHECKING:
    from dispatch.core.table import Format as TableFormat
    from dispatch.gitops.repository import Repo

_START = "With --start"


@app.command("split")
def split_command(
    pathspecs: Annotated[list[str] | None, typer.Argument(
        metavar="[PATHSPEC]...", help="Files to split, as git pathspecs relative to this "
        "folder (quote globs: 'src/*.py' also matches in sub-folders, as in git); balanced by "
        "size. Or use --items.")] = None,
    *,
    name: Annotated[str, typer.Option(
        "--name", "-n", help="The feature: the spec is specs/<YYYY_MM_DD>_<name>.md.")],
    into: Annotated[int, typer.Option(help="How many workstreams (fewer when there are "
                                           "fewer files; it says so).")] = 4,
    by: Annotated[str, typer.Option(
        help="file: whole files, balanced within one file's worth; dir: whole folders; rule "
        "or severity: each file goes to its most frequent rule (its most severe level), and "
        "each rule's files are balanced among its workstreams.")] = "file",
    items: Annotated[str | None, typer.Option(
        "--items", metavar="FILE", help="A work list instead of files: one item per line "
        "('path', 'path:line: text'), JSON lines, SARIF, or the output of ruff, flake8, "
        "pylint, eslint or mypy (text or JSON); - reads stdin. Balanced by item count.")
    ] = None,
    input_format: Annotated[str | None, typer.Option(
        "--input-format", metavar="NAME", help="Read --items as this format instead of "
        "detecting it: sarif, ruff-json, pylint-json, eslint-json, flake8-json, jsonl, ruff, "
        "flake8, pylint, mypy, eslint, list.")] = None,
    task: Annotated[str | None, typer.Option(
        help="What every workstream must do with its items, e.g. 'Fix these findings'.")
    ] = None,
    task_file: Annotated[str | None, typer.Option(
        "--task-file", metavar="FILE", help="The same, from a markdown file (quoted whole "
        "in the spec).")] = None,
    batch_size: Annotated[int | None, typer.Option(
        "--batch-size", metavar="K", help="Written to the spec's frontmatter as "
        "queue: {batch_size: K}, for `dispatch start --queue`.")] = None,
    force: Annotated[bool, typer.Option(help="Replace the spec if it exists.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
    fmt: Format = None,
    start: Annotated[bool, typer.Option(
        "--start", help="Go on to `dispatch start` with the new spec.",
        rich_help_panel=_START)] = False,
    rehearse: Annotated[bool, typer.Option(
        help="Start the rehearsal worker instead of claude (no tokens).",
        rich_help_panel=_START)] = False,
    wait: Annotated[bool, typer.Option(help="Stay until every session has ended.",
                                       rich_help_panel=_START)] = False,
    max_parallel: Annotated[int | None, typer.Option(
        min=1, max=64, help="Sessions at once (default: $MAX_CLAUDE_WORKERS, 4).",
        rich_help_panel=_START)] = None,
) -> None:
    """Turn a work list into a spec: its files cut into --into workstreams (no file in two),
    each owning its files (**Files**) with its items as checkbox tasks and the --task
    instructions. Writes specs/<date>_<name>.md (refuses to replace it without --force) and
    prints the plan as `dispatch plan` does; --start goes on to `dispatch start`."""
    from dispatch.commands.split.run import SplitRequest, split
    from dispatch.core import ui
    from dispatch.gitops import repository
    from dispatch.spec.view import notes_lines, plan_json, plan_table, warning_lines

    repo = repository.find(Path.cwd())
    chosen = None if as_json else ui.choose_format(fmt)
    request = SplitRequest(name=name, into=into, by=by, pathspecs=list(pathspecs or []),
                           items=items, input_format=input_format, task=task,
                           task_file=task_file, batch_size=batch_size, force=force)
    outcome = split(repo.root, Path.cwd(), request)
    for note in outcome.notes:
        ui.say_err(f"note: {note}")
    shown = os.path.relpath(outcome.spec)
    counted = f"{outcome.items} items in {outcome.files} files" if outcome.items else \
        f"{outcome.files} files"
    ui.say_err(f"wrote {shown} ({outcome.input_format}: {counted}, "
               f"{len(outcome.plan.workstreams)} workstreams)")
    if start:
        _start(repo, shown, rehearse=rehearse, wait=wait, max_parallel=max_parallel,
               fmt=chosen)
    if chosen is None:
        ui.print_json(plan_json(outcome.plan))
        return
    ui.show(plan_table(outcome.plan), chosen)
    for line in notes_lines(outcome.plan):
        ui.say(f"note: {line}")
    for line in warning_lines(outcome.plan):
        ui.say_err(line)
    ui.say_err(f"next: review {shown}, then: dispatch start {shown}")


def _start(repo: Repo, spec: str, *, rehearse: bool, wait: bool, max_parallel: int | None,
           fmt: TableFormat | None) -> None:
    """`dispatch start SPEC` as that command runs it, with its defaults."""
    from dispatch.commands import start, start_view
    from dispatch.workspace.preflight import StartOptions

    outcome = start.start(repo, spec, StartOptions(),
                          start.SessionOptions(rehearse=rehearse, max_parallel=max_parallel))
    raise typer.Exit(start_view.show(repo, outcome, fmt=fmt, wait=wait))
