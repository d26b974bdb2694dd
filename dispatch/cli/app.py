"""The Typer application object and its global options."""

from __future__ import annotations

from typing import Annotated

import typer

from dispatch import __version__

app = typer.Typer(
    name="dispatch",
    help="Run several Claude Code sessions in parallel on one feature: one git worktree and "
    "branch per workstream, watched, resumed and merged into one integration branch.",
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    add_completion=True,  # --install-completion: bash, zsh, fish (feature and workstream names)
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dispatch {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    *,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True,
                     help="Show the version and exit."),
    ] = False,
) -> None:
    """Run several Claude Code sessions in parallel on one feature."""
