"""`dispatch install-commands` and `dispatch demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dispatch.cli.app import app


@app.command("install-commands")
def install_commands_command(
    *,
    user: Annotated[bool, typer.Option(
        help="Install into ~/.claude/commands (every project) instead of this repository.")
    ] = False,
    force: Annotated[bool, typer.Option(help="Overwrite command files you have changed.")
                     ] = False,
) -> None:
    """Install the Claude Code slash commands /project:dispatch (and -status, -resume,
    -integrate, -clean) into this repository's .claude/commands/."""
    from dispatch.commands import install
    from dispatch.core import ui
    from dispatch.gitops import repository

    user_commands = Path.home() / ".claude" / "commands"
    root = None if user else repository.find(Path.cwd()).root  # (refuses outside a repo)
    destination = user_commands if root is None else root / ".claude" / "commands"
    for step in install.install(destination, force):
        ui.say(f"{step.action:9s} {step.target}")
    root = root or repository.find_root_or_none(Path.cwd())
    scopes = [user_commands, *([root / ".claude" / "commands"] if root else [])]
    for warning in install.look_alikes(scopes):
        ui.warn(warning)
    ui.say("In Claude Code: /project:dispatch @specs/<feature>.md")


@app.command("demo")
def demo_command(
    *,
    claude: Annotated[bool, typer.Option(
        "--claude", help="Use real Claude Code sessions (costs money) instead of the "
                         "rehearsal worker.")] = False,
    directory: Annotated[Path | None, typer.Option(
        "--dir", help="Where to create the sample repository (default: a new temp folder).")
    ] = None,
) -> None:
    """Run the whole workflow on a built-in sample project in a throwaway repository:
    plan, start (rehearsal worker unless --claude), status, check, integrate."""
    from dispatch.commands import demo

    raise typer.Exit(demo.run(directory, use_claude=claude))
