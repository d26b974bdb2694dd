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
    fmt: Format = None,
) -> None:
    """Parse a spec into workstreams and show the plan (changes nothing)."""
    from dispatch.core import ui
    from dispatch.gitops.repository import find_root_or_none
    from dispatch.spec.parse import parse_spec
    from dispatch.spec.source import resolve_spec_path
    from dispatch.spec.view import plan_json, plan_table

    cwd = Path.cwd()
    path = resolve_spec_path(spec, cwd, find_root_or_none(cwd))
    chosen = None if as_json else ui.choose_format(fmt)
    plan = parse_spec(path)
    if chosen is None:
        ui.print_json(plan_json(plan))
        return
    ui.show(plan_table(plan), chosen)
    for warning in plan.warnings:
        ui.warn(str(warning))
