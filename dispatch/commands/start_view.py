"""What `dispatch start` prints: the provisioned worktrees (`--no-agents`), or the sessions'
status and precisely what this start did ("queued 4 …", "nothing to do: …")."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

from dispatch.commands.start import Outcome
from dispatch.commands.status import show as status
from dispatch.core import ui
from dispatch.core.table import Column, Format, Table
from dispatch.gitops.repository import Repo
from dispatch.state.model import FeatureState
from dispatch.state.paths import FeaturePaths

COLUMNS = [Column("workstream"), Column("branch", "branch {}", drop=2),
           Column("ports", "ports {}", drop=1), Column("setup", "setup {}"),
           Column("status", "status {}")]


def show(repo: Repo, outcome: Outcome, *, fmt: Format | None, wait: bool) -> int:
    """Print the outcome (`fmt` None: JSON); with `wait`, follow the sessions until they end.
    Returns the exit code."""
    if outcome.new_spec is not None:
        ui.say(new_spec_message(outcome.new_spec))
        return 0
    assert outcome.state is not None
    paths = FeaturePaths(repo.root, outcome.state.feature)
    if outcome.supervision is None:
        if fmt is None:
            ui.print_json(summary_json(repo, outcome.state))
        else:
            ui.show(summary_table(repo, outcome.state), fmt)
        return 0
    if wait:
        return status.follow_until_done(outcome.supervision, fmt=fmt)
    status.print_status(paths, fmt=fmt)
    if fmt is not None:
        ui.say(what_it_did(outcome))
        ui.say(next_steps(outcome.state.feature))
    return 0


def what_it_did(outcome: Outcome) -> str:
    assert outcome.state is not None
    records = outcome.state.workstreams
    if not outcome.queued:
        counts = Counter(r.status for r in records.values())
        said = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        return (f"nothing to do: {said} — see 'dispatch status {outcome.state.feature}'; "
                "continue stopped or unfinished ones with 'dispatch resume <workstream>' "
                "(or --all)")
    setting_up = [n for n in outcome.queued if records[n].setup.status in ("pending",
                                                                         "running")]
    line = f"queued {len(outcome.queued)}: {', '.join(outcome.queued)}"
    if setting_up:
        line += f" (setup first in {', '.join(setting_up)})"
    return line


def next_steps(feature: str) -> str:
    return (f"Sessions run in the background. Follow them: dispatch status {feature} --watch · "
            f"logs: dispatch logs <workstream> · resume one: dispatch resume <workstream> · "
            f"when done: dispatch integrate {feature}")


def new_spec_message(path: Path) -> str:
    shown = os.path.relpath(path, Path.cwd())
    return (f"Created {shown}.\nFill in the feature description and its Workstreams section "
            "(one '### Workstream N: Title' per parallel unit, each with a **Goal**, its "
            f"**Files** and task bullets), then run: dispatch start {shown}")


def summary_json(repo: Repo, state: FeatureState) -> dict[str, Any]:
    paths = FeaturePaths(repo.root, state.feature)
    return {
        "feature": state.feature, "base": state.base, "dir": str(paths.dir),
        "workstreams": [
            {"name": r.name, "status": r.status, "branch": r.branch,
             "path": str(repo.root / r.path), "ports": r.ports,
             "setup": r.setup.model_dump(mode="json")}
            for r in state.workstreams.values()],
    }


def summary_table(repo: Repo, state: FeatureState) -> Table:
    paths = FeaturePaths(repo.root, state.feature)
    failed = [r.name for r in state.workstreams.values() if r.setup.status == "failed"]
    footer = [f"setup failed in {len(failed)} worktree(s): {', '.join(failed)} — see "
              f"'dispatch logs <workstream> --setup', retry with 'dispatch setup "
              f"{state.feature}'"] if failed else []
    table = Table(f"feature '{state.feature}' from {state.base[:12]}: worktrees in "
                  f"{paths.relative(paths.dir)}/<workstream>", COLUMNS, footer=footer)
    for record in state.workstreams.values():
        setup = record.setup.status + (f" (see {record.setup.log})"
                                       if record.setup.status == "failed" else "")
        table.add(record.name, record.branch,
                  " ".join(f"{k}={v}" for k, v in record.ports.items()) or "-", setup,
                  record.status)
    return table
