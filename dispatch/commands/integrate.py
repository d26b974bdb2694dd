"""`dispatch integrate` end to end: remote fetch, pattern branches, merge, report, push,
and the watch loop."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from dispatch.core import render, ui
from dispatch.core.errors import DispatchError, NothingToIntegrate
from dispatch.gitops import refs, remotes
from dispatch.gitops.repository import find
from dispatch.integration import external, foreign, merge_queue, report
from dispatch.state.model import FeatureState
from dispatch.state.paths import FeaturePaths, features, pick_feature
from dispatch.state.store import StateStore

if TYPE_CHECKING:
    from dispatch.integration import collect


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
    batch: bool | None = None
    verify_jobs: int = 2
    collect_glob: str | None = None  # JSON segments to combine (integration/collect.py)
    into: str | None = None
    key: str | None = None
    schema: Path | None = None
    collect_spec: collect.Spec | None = None  # the four above, checked by `run`


def run(root: Path, request: Request) -> int:
    if (request.push or request.watch or request.delete_merged) and not request.remote:
        raise DispatchError("--push, --watch and --delete-merged need --remote NAME")
    if request.remote:
        remotes.expect_remote(root, request.remote)
    if request.collect_glob is not None:
        from dispatch.integration import collect  # only with --collect (10 ms of imports)

        request.collect_spec = collect.spec(root, request.collect_glob, request.into,
                                            request.key, request.schema)
    elif request.into or request.key or request.schema:
        raise DispatchError("--into, --key and --schema go with --collect GLOB (the segment "
                            "files to combine), e.g. --collect 'staging/*.json'")
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
    render.prefetch(report.TEMPLATE, paths.root)  # while git works: needed at the end
    tips = _fetch(paths, request)
    if request.pattern is not None:
        matched = _pattern_branches(paths, request, tips)
        if _arrived(paths, matched) < request.min_branches:
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
        tips=_tips_by_workstream(paths, state, tips), batch=request.batch,
        verify_jobs=request.verify_jobs)
    # Progress goes to stderr on every reader: a long verify is not mistaken for a hang.
    outcome = merge_queue.integrate(paths, options, progress=ui.say_err)
    collection = None
    if request.collect_spec is not None:
        from dispatch.integration import collect

        collection = collect.collect(paths, request.collect_spec)
    strangers = foreign.commits(paths.root, outcome.state)
    path, kept = report.write(paths, outcome.state, outcome.prediction,
                              merge_queue.branch_tips(paths, outcome.state, options.tips),
                              collection, strangers)
    if kept is not None:
        ui.note(f"kept {paths.relative(kept)}: the {path.name} that was there had been written "
                "or changed by someone else")
    _publish(paths, request, outcome.state, collection)
    _show(paths, request, outcome, path, collection, strangers)
    if collection is not None and not collection.segments:
        if not waiting_ok:
            raise DispatchError(collection.nothing_found())
        ui.note(collection.nothing_found())
    return 0 if not outcome.left_out and not (collection and collection.left_out()) else 1


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


def _arrived(paths: FeaturePaths, matched: list[str]) -> int:
    """How many of the pattern's branches have come: those there now and those merged before
    (deleted since by --delete-merged). Counting only the ones there would stall a watcher
    below --min-branches for good once it deleted what it merged."""
    store = StateStore(paths)
    if not store.exists():
        return len(matched)
    state = store.load()
    merged = {state.workstreams[name].branch
              for name, record in (state.integration.merges if state.integration else {}).items()
              if record.status == "merged" and name in state.workstreams}
    return len(merged.union(matched))


def _tips_by_workstream(paths: FeaturePaths, state: FeatureState,
                        fetched: dict[str, str]) -> dict[str, str]:
    """For each workstream, the fetched tip when it is newer than (or instead of) the local
    branch; a diverged local branch wins, with a warning."""
    tips: dict[str, str] = {}
    for name, record in state.workstreams.items():
        theirs = fetched.get(record.branch)
        if theirs is None:
            continue
        ours = refs.branch_commit(paths.root, record.branch)
        if ours is None or refs.is_ancestor(paths.root, ours, theirs):
            tips[name] = theirs
        elif not refs.is_ancestor(paths.root, theirs, ours):
            ui.warn(f"{record.branch} differs locally and on the remote; using the local one")
    return tips


def _publish(paths: FeaturePaths, request: Request, state: FeatureState,
             collection: collect.Collection | None) -> None:
    integration = state.integration
    if request.remote is None or integration is None:
        return
    if request.push:
        remotes.push_branch(paths.root, request.remote, integration.branch,
                            request.retry_delay)
    if request.delete_merged:
        head = refs.branch_commit(paths.root, integration.branch) or ""
        present = remotes.tracking(paths.root, request.remote)
        # Judged by the remote's tip, not the one merged: a tip pushed since holds new work.
        tips = {n: present.get(state.workstreams[n].branch)
                for n, r in integration.merges.items() if r.status == "merged"}
        done = {n: tip for n, tip in tips.items()
                if tip and refs.is_ancestor(paths.root, tip, head)}
        doomed = {state.workstreams[n].branch: tip for n, tip in done.items()
                  if not _kept_for_collection(state, n, collection, request.remote)}
        if doomed:
            remotes.delete(paths.root, request.remote, list(doomed), request.retry_delay,
                           expect=doomed)


def _kept_for_collection(state: FeatureState, name: str, collection: collect.Collection | None,
                         remote: str) -> bool:
    """With --collect, a branch is deleted only once every segment it brought is collected."""
    reason = collection.keeps(name) if collection is not None else None
    if reason is not None:
        ui.note(f"kept {state.workstreams[name].branch} on {remote}: {reason}")
    return reason is not None


def _show(paths: FeaturePaths, request: Request, outcome: merge_queue.Outcome,
          path: Path, collection: collect.Collection | None,
          strangers: report.Strangers) -> None:
    if request.as_json:
        shown = report.as_json(outcome.state, outcome.prediction, path, strangers)
        if collection is not None:
            shown["collect"] = collection.as_json()
        ui.print_json(shown)
        return
    lines = report.summary(outcome.state, path, paths.root, strangers)
    for line in lines[:-2] + (collection.summary() if collection else []) + lines[-2:]:
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

