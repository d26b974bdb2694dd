"""`dispatch start SPEC_OR_FEATURE`: provision every workstream (and start its session)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dispatch.cli.app import app


@app.command("start")
def start_command(
    target: Annotated[str, typer.Argument(
        metavar="SPEC_OR_FEATURE",
        help="A spec (specs/x.md, @specs/x.md), an existing feature to continue, or a new "
             "feature name to create a spec skeleton for.")],
    *,
    no_agents: Annotated[bool, typer.Option(
        "--no-agents", help="Provision only: worktrees, branches, .env, setup, TASKS.md.")] = False,
    base: Annotated[str | None, typer.Option(
        help="Branch or commit the workstreams start from (default: HEAD).")] = None,
    base_port: Annotated[int | None, typer.Option(
        help="PORT of workstream N is this + N (default: frontmatter, .env PORT, 8000).")] = None,
    setup: Annotated[str | None, typer.Option(
        help="Setup command run in each worktree (default: frontmatter `setup`, or uv sync / "
             "npm ci when their lock file exists).")] = None,
    no_setup: Annotated[bool, typer.Option("--no-setup", help="Skip the setup command.")] = False,
    no_env: Annotated[bool, typer.Option("--no-env", help="Do not copy .env.")] = False,
    force: Annotated[bool, typer.Option(
        help="Adopt existing workstream branches that dispatch did not make, as they are.")
    ] = False,
    setup_jobs: Annotated[int, typer.Option(min=1, max=32,
                                            help="Setup commands run at once.")] = 4,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Create a worktree and branch per workstream, copy .env with its own ports, run setup,
    write TASKS.md and COORDINATION.md."""
    from dispatch import repo as repos
    from dispatch import start_flow, ui
    from dispatch.provision_plan import StartOptions

    repo = repos.find(Path.cwd())
    options = StartOptions(base=base, base_port=base_port, setup=setup, run_setup=not no_setup,
                           copy_env=not no_env, force=force, setup_jobs=setup_jobs)
    outcome = start_flow.start(repo, target, options, agents=not no_agents)
    if outcome.new_spec is not None:
        ui.out().print(start_flow.new_spec_message(repo, outcome.new_spec), markup=False)
        return
    assert outcome.state is not None
    if as_json:
        ui.print_json(start_flow.summary_json(repo, outcome.state))
    else:
        ui.out().print(start_flow.summary_table(repo, outcome.state))
