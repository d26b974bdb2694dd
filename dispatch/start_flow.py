"""`dispatch start` from input to outcome, and how its result is shown."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dispatch import ui
from dispatch.errors import DispatchError
from dispatch.provision import provision
from dispatch.provision_plan import StartOptions
from dispatch.repo import Repo
from dispatch.start_input import classify, create_spec
from dispatch.state import FeaturePaths, StateStore
from dispatch.state_models import FeatureState

if TYPE_CHECKING:
    from rich.table import Table


@dataclass
class Outcome:
    state: FeatureState | None = None
    new_spec: Path | None = None


def start(repo: Repo, target: str, options: StartOptions, *, agents: bool) -> Outcome:
    from dispatch.spec import parse_spec
    from dispatch.spec_source import resolve_spec_path

    given = classify(target, Path.cwd(), repo.root)
    if given.kind == "new":
        return Outcome(new_spec=create_spec(repo.root, given.value))
    if given.kind == "spec":
        plan = parse_spec(resolve_spec_path(given.value, Path.cwd(), repo.root))
    else:
        plan = StateStore(FeaturePaths(repo.root, given.value)).load().plan
    for warning in plan.warnings:
        ui.warn(warning)
    if agents:
        raise DispatchError("starting Claude sessions is not available yet; "
                            "run 'dispatch start --no-agents' to provision only")
    state = provision(repo, plan, options, progress=ui.progress, warn=ui.warn)
    return Outcome(state=state)


def new_spec_message(repo: Repo, path: Path) -> str:
    shown = os.path.relpath(path, Path.cwd())
    del repo
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
    from rich.table import Table

    paths = FeaturePaths(repo.root, state.feature)
    table = Table(title=f"feature '{state.feature}' from {state.base[:12]}: worktrees in "
                  f"{paths.relative(paths.dir)}/<workstream>, branches "
                  f"{state.feature}/<workstream>", title_justify="left")
    for column in ("workstream", "ports", "setup", "status"):
        table.add_column(column, overflow="fold")
    for record in state.workstreams.values():
        ports = " ".join(f"{k}={v}" for k, v in record.ports.items())
        setup = record.setup.status + (f" (see {record.setup.log})"
                                       if record.setup.status == "failed" else "")
        odd_branch = "" if record.branch == f"{state.feature}/{record.name}" else \
            f" (branch {record.branch})"
        table.add_row(record.name + odd_branch, ports, setup, record.status)
    return table
