"""Options shared by several commands."""

from __future__ import annotations

from typing import Annotated

import typer

from dispatch.cli import complete

Feature = Annotated[str | None, typer.Option(
    "--feature", "-f", help="The feature (default: the only one under .worktrees/).",
    autocompletion=complete.feature_names)]
FeatureArg = Annotated[str | None, typer.Argument(
    metavar="FEATURE", help="The feature (default: the only one under .worktrees/).",
    autocompletion=complete.feature_names)]
Json = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
Claude = Annotated[str | None, typer.Option(
    "--claude", help="The claude program (default: $CLAUDE_CLI_PATH, then `claude` on PATH).")]
Format = Annotated[str | None, typer.Option(
    "--format", metavar="FORMAT",
    help="plain (one line per row, every value whole: the default off a terminal), markdown "
         "(a table, for Claude Code), or rich (the default on a terminal).",
    autocompletion=lambda: ["plain", "markdown", "rich"])]
Workstreams = Annotated[list[str] | None, typer.Argument(
    metavar="[WORKSTREAM]...", help="Workstreams (default: all of the feature's).",
    autocompletion=complete.workstream_names)]
Workstream = Annotated[str, typer.Argument(help="The workstream.",
                                           autocompletion=complete.workstream_names)]
