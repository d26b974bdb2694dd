"""`dispatch plan SPEC`: parse and validate a spec; no side effects."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dispatch.cli.app import app
from dispatch.cli.options import Format


@app.command("plan")
def plan_command(
    spec: Annotated[str, typer.Argument(
        metavar="SPEC", help="The spec: specs/x.md, @specs/x.md or a path.")],
    *,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
    explain: Annotated[bool, typer.Option(
        "--explain", help="Print, for each heading of the spec, whether it became a "
        "workstream, a field or prose, and why.")] = False,
    teams: Annotated[list[str] | None, typer.Option(
        "--teams", metavar="WS=N", help="Show the plan with workstream WS run by N competing "
        "teams (as 'dispatch start --teams' would run it). Repeatable.")] = None,
    judge: Annotated[bool, typer.Option(
        "--judge", help="Count a judge session per teamed workstream (as 'dispatch start "
        "--judge').")] = False,
    fmt: Format = None,
) -> None:
    """Parse a spec into workstreams and show the plan (changes nothing).

    The workstreams are the sub-headings of a "Workstreams" section (the document's title
    counts only when nothing else fits); without one, the headings numbered
    "Workstream/Stream/Team/Track/Agent/Phase N" and those that carry two workstream fields
    (**Goal**, **Files**, **Depends on**...). Other sections stay prose. Bold fields
    dispatch does not know (**Owner**: ...) are kept as notes. Warnings go to stderr as
    file:line: warning: message.
    """
    from dispatch.core import ui
    from dispatch.gitops.repository import find_root_or_none
    from dispatch.spec.explain import explain_spec
    from dispatch.spec.parse import parse_spec
    from dispatch.spec.source import resolve_spec_path
    from dispatch.spec.teams import for_feature, parse_counts
    from dispatch.spec.view import notes_lines, plan_json, plan_table, warning_lines

    if explain and as_json:
        raise typer.BadParameter("--explain prints text: use it without --json")
    cwd = Path.cwd()
    path = resolve_spec_path(spec, cwd, find_root_or_none(cwd))
    chosen = None if as_json else ui.choose_format(fmt)
    for line in explain_spec(path) if explain else []:
        ui.say(line)
    plan = parse_spec(path)  # after the explanation: its errors are what it explains
    plan = for_feature(plan, None, parse_counts(teams or []), judge)
    if chosen is None:
        ui.print_json(plan_json(plan))
        return
    if not explain:
        ui.show(plan_table(plan), chosen)
        for line in notes_lines(plan):
            ui.say(f"note: {line}")
    for line in warning_lines(plan):
        ui.say_err(line)
