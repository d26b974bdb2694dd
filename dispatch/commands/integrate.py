"""`dispatch integrate` end to end: remote fetch, pattern branches, merge, report, push,
and the watch loop."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

from dispatch.core import ui
from dispatch.core.errors import DispatchError, NothingToIntegrate
from dispatch.gitops import refs, remotes
from dispatch.gitops.repository import find
from dispatch.integration import external, merge_queue, report
from dispatch.state.model import FeatureState
from dispatch.state.paths import FeaturePaths, features, pick_feature
from dispatch.state.store import StateStore


@dataclass
class Request:
    feature: str | None = None
    include: tuple[str, ...] = ("done",)
    only: list[str] | None = None
    verify: str | None = None
    stop_on_conflict: bool = False
    force: bool = False
    remote: str | None = None
    push: bool = False
    pattern: str | None = None
    base: str | None = None
    watch: bool = False
    interval: float = 60.0
    min_branches: int = 1
    delete_merged: bool = False
    as_json: bool = False
    retry_delay: float = 2.0


def run(root: Path, request: Request) -> int:
    if (request.push or request.watch or request.delete_merged) and not request.remote:
        raise DispatchError("--push, --watch and --delete-merged need --remote NAME")
    if request.remote:
        remotes.expect_remote(root, request.remote)
    paths = FeaturePaths(root, _feature(root, request))
    if not request.watch:
        return once(paths, request, waiting_ok=False)
    return _watch(paths, request)


def _feature(root: Path, request: Request) -> str:
    if request.pattern is None:
        return pick_feature(root, request.feature)
    from dispatch.state.names import check_feature_name

    name = request.feature or external.feature_name(request.pattern)
    if request.feature is not None and request.feature not in features(root):
        check_feature_name(name)
    return name


def once(paths: FeaturePaths, request: Request, *, waiting_ok: bool) -> int:
    tips = _fetch(paths, request)
    if request.pattern is not None:
        matched = _pattern_branches(paths, request, tips)
        if len(matched) < request.min_branches:
            what = (f"{len(matched)} branch(es) match {request.pattern!r}; waiting for "
                    f"{request.min_branches}")
            if waiting_ok:
                ui.note(what)
                return 0
            raise DispatchError(f"{what}: push more, lower --min-branches, or use --watch")
    state = StateStore(paths).load()
    options = merge_queue.IntegrateOptions(
        include=request.include, only=request.only, verify=request.verify,
        stop_on_conflict=request.stop_on_conflict, force=request.force,
        tips=_tips_by_workstream(paths, state, tips))
    # Progress goes to stderr on every reader: a long verify is not mistaken for a hang.
    outcome = merge_queue.integrate(paths, options, progress=ui.say_err)
    path = report.write(paths, outcome.state, outcome.prediction,
                        merge_queue.branch_tips(paths, outcome.state, options.tips))
    _publish(paths, request, outcome.state)
    _show(paths, request, outcome, path)
    return 0 if not outcome.left_out else 1


def _fetch(paths: FeaturePaths, request: Request) -> dict[str, str]:
    """Remote branch tips by branch name (empty without --remote)."""
    if request.remote is None:
        return {}
    pattern = request.pattern or f"{paths.feature}/*"
    remotes.fetch(paths.root, request.remote, [
        f"+refs/heads/*:refs/remotes/{request.remote}/*"], request.retry_delay)
    return remotes.tracking(paths.root, request.remote, pattern)


def _pattern_branches(paths: FeaturePaths, request: Request,
                      fetched: dict[str, str]) -> list[str]:
    assert request.pattern is not None
    matched = fetched if request.remote else remotes.local(paths.root, request.pattern)
    matched = {b: sha for b, sha in matched.items() if not b.endswith("/integration")}
    if not matched and not request.watch:
        raise DispatchError(f"no branch matches {request.pattern!r}"
                            f"{' on ' + request.remote if request.remote else ''}; check the "
                            "pattern (quote it in the shell) or push the branches first")
    if matched:
        external.ensure(paths, find(paths.root), request.pattern, request.base)
        external.add_branches(paths, request.pattern, list(matched))
    return list(matched)


def _tips_by_workstream(paths: FeaturePaths, state: FeatureState,
                        fetched: dict[str, str]) -> dict[str, str]:
    """For each workstream, the fetched tip when it is newer than (or instead of) the local
    branch; a diverged local branch wins, with a warning."""
    tips: dict[str, str] = {}
    for name, record in state.workstreams.items():
        theirs = fetched.get(record.branch)
        ours = refs.branch_commit(paths.root, record.branch)
        if theirs is None:
            continue
        if ours is None or refs.is_ancestor(paths.root, ours, theirs):
            tips[name] = theirs
        elif not refs.is_ancestor(paths.root, theirs, ours):
            ui.warn(f"{record.branch} differs locally and on the remote; using the local one")
    return tips


def _publish(paths: FeaturePaths, request: Request, state: FeatureState) -> None:
    integration = state.integration
    if request.remote is None or integration is None:
        return
    if request.push:
        remotes.push_branch(paths.root, request.remote, integration.branch,
                            request.retry_delay)
    if request.delete_merged:
        head = refs.branch_commit(paths.root, integration.branch) or ""
        done = [state.workstreams[n].branch for n, r in integration.merges.items()
                if r.status == "merged" and r.tip and refs.is_ancestor(paths.root, r.tip, head)]
        present = remotes.tracking(paths.root, request.remote)
        doomed = [b for b in done if b in present]
        if doomed:
            remotes.delete(paths.root, request.remote, doomed, request.retry_delay)


def _show(paths: FeaturePaths, request: Request, outcome: merge_queue.Outcome,
          path: Path) -> None:
    if request.as_json:
        ui.print_json(report.as_json(outcome.state, outcome.prediction, path))
        return
    for line in report.summary(outcome.state, path, paths.root):
        ui.say(line)


def _watch(paths: FeaturePaths, request: Request) -> int:
    ui.note(f"watching {request.remote} every {request.interval:g}s; Ctrl-C stops")
    try:
        while True:
            with contextlib.suppress(NothingToIntegrate):
                once(paths, request, waiting_ok=True)
            time.sleep(request.interval)
    except KeyboardInterrupt:
        return 0

