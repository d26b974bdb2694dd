"""INTEGRATION.md: what happened to every workstream, rendered from templates/."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dispatch.core import render
from dispatch.core.parallel import parallel_map
from dispatch.gitops import history
from dispatch.integration.conflicts import Prediction
from dispatch.state.model import FeatureState, MergeRecord, now
from dispatch.state.paths import FeaturePaths
from dispatch.state.store import write_atomic
from dispatch.workspace import workfiles


@dataclass
class Row:
    name: str
    title: str
    session_status: str
    worker: str | None
    session_id: str | None
    merge: MergeRecord | None
    merge_status: str
    cost: float
    turns: int
    commits: list[tuple[str, str]]
    diffstat: str
    results: str | None
    conflicts: dict[str, list[str]]
    out_of_scope: list[str]
    setup_failed: str | None = None  # the setup log, when its setup failed


def write(paths: FeaturePaths, state: FeatureState, prediction: Prediction,
          tips: dict[str, str]) -> Path:
    titles = {ws.name: ws.title for ws in state.plan.workstreams}
    rows = parallel_map(lambda name: _row(paths, state, prediction, tips, name, titles.get(
        name, f"{name} (no longer in the spec: renamed or removed?)")), state.names(),
        threads=4)
    assert state.integration is not None
    merged = [row.name for row in rows if row.merge_status == "merged"]
    text = render.render(
        "INTEGRATION.md.j2", paths.root, state=state, integration=state.integration, rows=rows,
        merged=merged, prediction=prediction, total_cost=state.total_cost(),
        rehearsal=any(row.worker == "rehearsal" for row in rows),
        next_steps=next_steps(state, rows), written_at=now().isoformat())
    target = paths.report
    write_atomic(target, text)
    return target


def _row(paths: FeaturePaths, state: FeatureState, prediction: Prediction,
         tips: dict[str, str], name: str, title: str) -> Row:
    record = state.workstreams[name]
    assert state.integration is not None
    merge = state.integration.merges.get(name)
    tip = tips.get(name) if name not in prediction.unmergeable else None
    start = record.start_commit or state.base  # its own work, without its dependencies'
    return Row(
        name=name, title=title, session_status=record.status, worker=record.worker,
        session_id=record.session_id, merge=merge,
        merge_status=merge.status if merge else "not integrated",
        cost=record.total_cost_usd, turns=record.num_turns,
        commits=history.commit_log(paths.root, f"{start}..{tip}") if tip else [],
        diffstat=history.diffstat(paths.root, start, tip) if tip else "",
        results=results_text(paths, name), conflicts=prediction.conflicts_of(name),
        out_of_scope=prediction.out_of_scope.get(name, []),
        setup_failed=(record.setup.log or "its setup log") if record.setup.status == "failed"
        else None)


def results_text(paths: FeaturePaths, name: str) -> str | None:
    """RESULTS.md from the worktree, else the copy the supervisor kept."""
    text = workfiles.read_results(paths.worktree(name))
    if text is None:
        kept = paths.results / f"{name}.md"
        text = kept.read_text(errors="replace") if kept.exists() else None
    return text.strip() if text else None


def next_steps(state: FeatureState, rows: list[Row]) -> list[str]:
    assert state.integration is not None
    branch = state.integration.branch
    steps: list[str] = []
    for row in rows:
        merge = row.merge
        if merge is not None and merge.status == "conflict":
            with_ = ", ".join(merge.collides_with) or "the integration branch"
            steps.append(f"`dispatch resume {row.name} --prompt \"Merge branch {branch} into "
                         f"your branch and resolve the conflicts in {', '.join(merge.files)} "
                         f"(they collide with {with_}), then commit\"`, then `dispatch "
                         f"integrate {state.feature}`")
        elif merge is not None and merge.status == "verify_failed":
            steps.append(f"`dispatch resume {row.name} --prompt \"After merging into {branch}, "
                         f"`{state.integration.verify}` fails (see {merge.verify_log}); fix "
                         f"it on your branch and commit\"`")
        elif row.session_status != "done" and row.merge_status != "merged":
            steps.append(f"`{row.name}` is {row.session_status}: `dispatch resume {row.name}`"
                         f" (see `dispatch logs {row.name}`)")
    if all(row.merge_status == "merged" for row in rows):
        target = state.base_ref or "your branch"
        steps.append(f"Review `{branch}` and merge it into {target}; then `dispatch clean "
                     f"{state.feature}`")
    return steps


def summary(state: FeatureState, report: Path, root: Path) -> list[str]:
    assert state.integration is not None
    merges = state.integration.merges
    counts: dict[str, list[str]] = {}
    for name, record in merges.items():
        counts.setdefault(record.status, []).append(name)
    lines = [f"{status}: {', '.join(names)}" for status, names in sorted(counts.items())]
    lines.append(f"integration branch {state.integration.branch} "
                 f"(worktree {state.integration.path}); total cost ${state.total_cost():.2f}")
    lines.append(f"report: {report.relative_to(root)}")
    return lines


def as_json(state: FeatureState, prediction: Prediction, report: Path) -> dict[str, Any]:
    assert state.integration is not None
    return {"feature": state.feature, "branch": state.integration.branch,
            "worktree": state.integration.path, "report": str(report),
            "merges": {n: r.model_dump(mode="json") for n, r in
                       state.integration.merges.items()},
            "prediction": prediction.as_json(), "total_cost_usd": state.total_cost()}
