"""Per-workstream working files (TASKS.md, RESULTS.md), COORDINATION.md and the prompts.

TASKS.md and RESULTS.md live in `<worktree>/.workstream/`, a folder holding a `.gitignore` of
`*`: git ignores the folder and everything in it, in that worktree only, for every git client
and a worker's `git add -A` alike. They never reach a commit, so they can never conflict in
the integration branch, and nothing in the user's repository or config has to change.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from dispatch import render
from dispatch.models import Workstream
from dispatch.paths import FeaturePaths
from dispatch.state_models import FeatureState

WORK_DIR = ".workstream"
TASKS = f"{WORK_DIR}/TASKS.md"
RESULTS = f"{WORK_DIR}/RESULTS.md"
_BOX = re.compile(r"^\s*[-*+] \[([ xX])\]", re.M)


def ensure_work_dir(worktree: Path) -> None:
    folder = worktree / WORK_DIR
    folder.mkdir(exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.is_file():
        ignore.write_text("# dispatch's per-workstream files: never committed\n*\n")


def context(paths: FeaturePaths, state: FeatureState, ws: Workstream) -> dict[str, Any]:
    record = state.workstreams[ws.name]
    plan = state.plan
    return {
        "plan": plan, "ws": ws, "record": record, "count": len(plan.workstreams),
        "worktree": str(paths.worktree(ws.name)), "work_dir": WORK_DIR,
        "tasks_file": TASKS, "results_file": RESULTS,
        "coordination": str(paths.coordination),
        "verify": ws.verify or plan.verify,
        "waits_for": [state.workstreams[d] for d in ws.depends_on if d in state.workstreams],
        "waited_by": plan.dependents(ws.name),
    }


def write_tasks(paths: FeaturePaths, state: FeatureState, ws: Workstream) -> None:
    """Write TASKS.md once: later runs must not undo the boxes a worker ticked."""
    worktree = paths.worktree(ws.name)
    ensure_work_dir(worktree)
    target = worktree / TASKS
    if not target.exists():
        target.write_text(render.render("TASKS.md.j2", paths.root,
                                        **context(paths, state, ws)))


def write_coordination(paths: FeaturePaths, state: FeatureState) -> None:
    """Write COORDINATION.md once; workers append to it afterwards."""
    if paths.coordination.exists():
        return
    rows = [{"ws": ws, "record": state.workstreams[ws.name]} for ws in state.plan.workstreams
            if ws.name in state.workstreams]
    paths.coordination.write_text(render.render(
        "COORDINATION.md.j2", paths.root, plan=state.plan, rows=rows, spec=state.spec or "-",
        base=state.base))


def prompt(name: str, paths: FeaturePaths, state: FeatureState, ws: Workstream) -> str:
    return render.render(name, paths.root, **context(paths, state, ws)).strip()


def read_results(worktree: Path) -> str | None:
    try:
        return (worktree / RESULTS).read_text(errors="replace")
    except OSError:
        return None


def count_tasks(worktree: Path) -> tuple[int, int]:
    """(ticked, total) checkboxes in the Tasks section of the workstream's TASKS.md."""
    try:
        text = (worktree / TASKS).read_text(errors="replace")
    except OSError:
        return (0, 0)
    start, end = tasks_section(text)
    boxes = [m[1] for m in _BOX.finditer(text, start, end)]
    return (sum(box in "xX" for box in boxes), len(boxes))


def tasks_section(text: str) -> tuple[int, int]:
    """Character span of the '## Tasks' section (the whole text if there is none)."""
    heading = re.search(r"^## Tasks[ \t]*$", text, flags=re.M)
    if heading is None:
        return (0, len(text))
    after = re.search(r"^## ", text[heading.end():], flags=re.M)
    return (heading.end(), heading.end() + after.start() if after else len(text))
