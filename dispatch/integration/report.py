"""INTEGRATION.md: what happened to every workstream, rendered from templates/."""

from __future__ import annotations

import hashlib
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dispatch.core import files, render
from dispatch.core.parallel import parallel_map
from dispatch.core.text import counted
from dispatch.gitops import history
from dispatch.integration import foreign, own_work
from dispatch.integration.conflicts import Prediction
from dispatch.state import picks
from dispatch.state.model import FeatureState, FixRound, MergeRecord, now
from dispatch.state.paths import FeaturePaths
from dispatch.state.store import write_atomic
from dispatch.workspace import workfiles

TEMPLATE = "INTEGRATION.md.j2"

if TYPE_CHECKING:
    from dispatch.integration.collect import Collection


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
    rounds: list[FixRound] = field(default_factory=list)  # handed back by the autopilot


Strangers = list[tuple[str, str]]  # (commit, subject): on the branch, not dispatch's


def write(paths: FeaturePaths, state: FeatureState, prediction: Prediction,
          tips: dict[str, str], collection: Collection | None = None,
          strangers: Strangers | None = None) -> tuple[Path, Path | None]:
    """Write the report; also the path a report not written by dispatch was moved to.
    `strangers`: `foreign.commits`, when the caller has them already."""
    titles = {ws.name: ws.title for ws in state.plan.attempts()}  # (competing teams' too)
    rows = parallel_map(lambda name: _row(paths, state, prediction, tips, name, titles.get(
        name, f"{name} (no longer in the spec: renamed or removed?)")), state.names(),
        threads=4)
    assert state.integration is not None
    merged = [row.name for row in rows if row.merge_status == "merged"]
    if strangers is None:
        strangers = foreign.commits(paths.root, state)
    text = render.render(
        TEMPLATE, paths.root, state=state, integration=state.integration, rows=rows,
        merged=merged, prediction=prediction, total_cost=state.total_cost(),
        rehearsal=any(row.worker == "rehearsal" for row in rows),
        next_steps=next_steps(state, rows, strangers), written_at=now().isoformat(),
        collection=collection, foreign=strangers)
    target = paths.report
    kept = keep_if_not_ours(target)
    write_atomic(target, sign(text))
    return target, kept


# The report ends with a hash of itself: a report someone changed or wrote (a person's notes,
# a worker's file of the same name) is told from dispatch's own and kept, not overwritten.
_SIGNATURE = "<!-- written by dispatch integrate; sha256 of the text above: {} -->\n"


def sign(text: str) -> str:
    return text + _SIGNATURE.format(_digest(text))


def keep_if_not_ours(target: Path) -> Path | None:
    """Move a report that is not dispatch's unchanged own aside; where it went, or None."""
    try:
        found = target.read_text(errors="surrogateescape") if target.is_file() else None
    except OSError:
        found = None
    if found is None and not target.is_symlink() and not target.exists():
        return None
    if found is not None:
        body, _, last = found.rstrip("\n").rpartition("\n")
        if last + "\n" == _SIGNATURE.format(_digest(body + "\n")):
            return None
    return files.rename_aside(target, lambda tag: f"{target.stem}.{tag}{target.suffix}")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def _row(paths: FeaturePaths, state: FeatureState, prediction: Prediction,
         tips: dict[str, str], name: str, title: str) -> Row:
    record = state.workstreams[name]
    assert state.integration is not None
    merge = state.integration.merges.get(name)
    tip = tips.get(name) if name not in prediction.unmergeable else None
    start = own_work.own_start(paths.root, state, name, tip) if tip else state.base
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
        else None, rounds=record.rounds)


def results_text(paths: FeaturePaths, name: str) -> str | None:
    """RESULTS.md from the worktree, else the copy the supervisor kept."""
    text = workfiles.read_results(paths.worktree(name))
    if text is None:
        kept = paths.results / f"{name}.md"
        text = files.read_text(kept)
    return text.strip() if text else None


def next_steps(state: FeatureState, rows: list[Row],
               strangers: list[tuple[str, str]] | None = None) -> list[str]:
    assert state.integration is not None
    branch = state.integration.branch
    steps: list[str] = []
    if strangers:
        steps.append(f"Review the {counted(len(strangers), 'commit')} on `{branch}` that no "
                     f"workstream brought (listed above): keep what is wanted, and take "
                     "the rest out with `git revert` in its worktree")
    losers = picks.not_picked(state)  # another team's attempt stands for their workstream
    rows = [row for row in rows if row.name not in losers]
    for row in rows:
        merge = row.merge
        if merge is not None and merge.status == "conflict":
            with_ = ", ".join(merge.collides_with) or "the integration branch"
            prompt = (f"Merge branch {branch} into your branch and resolve the conflicts in "
                      f"{', '.join(merge.files)} (they collide with {with_}), then commit")
            steps.append(f"{_code(_resume(row.name, prompt))}, then "
                         f"{_code(shlex.join(['dispatch', 'integrate', state.feature]))}")
        elif merge is not None and merge.status == "verify_failed":
            prompt = (f"After merging into {branch}, the verify command "
                      f"{state.integration.verify} fails (see {merge.verify_log}); fix it on "
                      "your branch and commit")
            steps.append(_code(_resume(row.name, prompt)))
        elif row.session_status != "done" and row.merge_status != "merged":
            steps.append(f"`{row.name}` is {row.session_status}: `dispatch resume {row.name}`"
                         f" (see `dispatch logs {row.name}`)")
    if all(row.merge_status == "merged" for row in rows):
        target = state.base_ref or "your branch"
        steps.append(f"Review `{branch}` and merge it into {target}; then `dispatch clean "
                     f"{state.feature}`")
    return steps


def _resume(name: str, prompt: str) -> str:
    """A command line safe to paste into a shell: names and files are a worker's words."""
    return shlex.join(["dispatch", "resume", name, "--prompt", prompt])


def _code(text: str) -> str:
    """A markdown code span around `text`, whatever backticks it holds."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def summary(state: FeatureState, report: Path, root: Path, strangers: Strangers) -> list[str]:
    assert state.integration is not None
    merges = state.integration.merges
    counts: dict[str, list[str]] = {}
    for name, record in merges.items():
        counts.setdefault(record.status, []).append(name)
    lines = [f"{status}: {', '.join(names)}" for status, names in sorted(counts.items())]
    if strangers:
        shown = ", ".join(f"{commit[:10]} {subject!r}" for commit, subject in strangers[:3])
        more = f" and {len(strangers) - 3} more" if len(strangers) > 3 else ""
        lines.append(f"not made by dispatch: {counted(len(strangers), 'commit')} on "
                     f"{state.integration.branch} that no workstream brought ({shown}{more}); "
                     "see INTEGRATION.md before merging the branch")
    lines.append(f"integration branch {state.integration.branch} "
                 f"(worktree {state.integration.path}); total cost ${state.total_cost():.2f}")
    lines.append(f"report: {report.relative_to(root)}")
    return lines


def as_json(state: FeatureState, prediction: Prediction, report: Path,
            strangers: Strangers) -> dict[str, Any]:
    assert state.integration is not None
    return {"feature": state.feature, "branch": state.integration.branch,
            "worktree": state.integration.path, "report": str(report),
            "merges": {n: r.model_dump(mode="json") for n, r in
                       state.integration.merges.items()},
            "prediction": prediction.as_json(), "total_cost_usd": state.total_cost(),
            "foreign_commits": [{"commit": commit, "subject": subject} for commit, subject
                                in strangers]}
