"""Rendering a workstream's TASKS.md, the feature's COORDINATION.md and the prompts.

Where the per-workstream files live, and why git never commits them: see workfiles.py.
"""

from __future__ import annotations

from typing import Any

from dispatch.core import render
from dispatch.state import picks, work_items
from dispatch.state.model import Batch, FeatureState
from dispatch.state.paths import FeaturePaths
from dispatch.state.plan import Workstream
from dispatch.workspace.workfiles import RESULTS, TASKS, WORK_DIR, ensure_work_dir


def context(paths: FeaturePaths, state: FeatureState, ws: Workstream) -> dict[str, Any]:
    record = state.workstreams[ws.name]
    plan = state.plan
    return {
        "plan": plan, "ws": ws, "record": record, "count": len(plan.workstreams),
        "worktree": str(paths.worktree(ws.name)), "work_dir": WORK_DIR,
        "tasks_file": TASKS, "results_file": RESULTS,
        "coordination": str(paths.coordination),
        "spec_file": str(paths.spec_snapshot),
        "verify": ws.verify or plan.verify,
        "waits_for": [_dependency(state, d) for d in ws.depends_on
                      if d in state.workstreams or d in state.teams],
        "waited_by": plan.dependents(ws.team_of or ws.name),
        "rivals": [a for a in state.teams[ws.team_of].attempts if a != ws.name]
        if ws.team_of and ws.team_of in state.teams else [],
        "queued": _queued(state, ws),
    }


def _dependency(state: FeatureState, name: str) -> dict[str, str]:
    """A dependency as TASKS.md names it: a teamed one by the attempt picked for it."""
    branch = picks.dependency_branch(state, name)
    if branch is None and name in state.teams:
        branch = "the branch of whichever of its teams is picked"
    return {"name": name, "branch": branch or "-"}


def _queued(state: FeatureState, ws: Workstream) -> list[Batch]:
    """Its batches when it works through a queue (`start --queue`), else none."""
    size = state.queue.batch_size if state.queue else \
        state.plan.queue.batch_size if state.plan.queue else None
    return work_items.cut(ws, size) if size else []


def write_tasks(paths: FeaturePaths, state: FeatureState, ws: Workstream) -> None:
    """Write TASKS.md once: later runs must not undo the boxes a worker ticked."""
    worktree = paths.worktree(ws.name)
    ensure_work_dir(worktree)
    target = worktree / TASKS
    if target.is_symlink():  # never write through a link (dispatch made none)
        target.unlink()
    if not target.exists():
        target.write_text(render.render("TASKS.md.j2", paths.root,
                                        **context(paths, state, ws)))


def write_coordination(paths: FeaturePaths, state: FeatureState) -> None:
    """Write COORDINATION.md once; workers append to it afterwards."""
    if paths.coordination.exists():
        return
    rows = [{"ws": ws, "record": state.workstreams[ws.name]} for ws in state.plan.attempts()
            if ws.name in state.workstreams]
    paths.coordination.write_text(render.render(
        "COORDINATION.md.j2", paths.root, plan=state.plan, rows=rows,
        spec=str(paths.spec_snapshot), base=state.base))


def prompt(name: str, paths: FeaturePaths, state: FeatureState, ws: Workstream) -> str:
    return render.render(name, paths.root, **context(paths, state, ws)).strip()
