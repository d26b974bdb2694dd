"""`dispatch compare` and `dispatch pick`: competing teams of one workstream."""

from __future__ import annotations

from typing import Annotated

import typer

from dispatch.cli import complete
from dispatch.cli.app import app
from dispatch.cli.options import Feature, Format, Json

TeamedWorkstream = Annotated[str, typer.Argument(
    metavar="WORKSTREAM", help="A workstream run by competing teams.",
    autocompletion=complete.workstream_names)]


@app.command("compare")
def compare_command(
    workstream: TeamedWorkstream, *, feature: Feature = None,
    judge: Annotated[bool | None, typer.Option(
        "--judge/--no-judge", show_default="the spec's `judge`, else no",
        help="Ask a judge session (a fresh headless Claude, counted in the budget) to "
             "review the attempts that pass.")] = None,
    as_json: Json = False, fmt: Format = None,
) -> None:
    """Compare a workstream's competing teams on evidence (done check, verify and its test
    counts, clean merges, files outside scope, size, tests, cost, time), write
    .worktrees/<feature>/compare/<workstream>.md, and pick by the rule (README: Competing
    teams) unless a person picked already. The supervisor does this by itself once every
    team has ended."""
    from dispatch.commands import compare, target
    from dispatch.core import ui

    chosen = None if as_json else ui.choose_format(fmt)
    compared = compare.compare(target.feature(feature), workstream, judge=judge,
                               progress=ui.progress)
    if chosen is None:
        ui.print_json(compare.compare_json(compared))
    else:
        ui.show(compare.compare_table(compared), chosen)


@app.command("pick")
def pick_command(
    workstream: TeamedWorkstream,
    team: Annotated[int, typer.Argument(metavar="TEAM", help="The team number (1, 2, ...).")],
    *, feature: Feature = None,
) -> None:
    """Choose which team's attempt stands for WORKSTREAM, overriding the comparison. Once
    integrated, the integration branch is rebuilt with the new pick instead of the old one
    (refused, untouched, if that would lose other work)."""
    from dispatch.commands import pick, target
    from dispatch.core import ui

    ui.say(pick.pick(target.feature(feature), workstream, team).summary())
