"""`dispatch setup`: run a worktree's setup command again (every failed one by default), in
the foreground, each with its log; workstreams waiting on it carry on afterwards."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

from dispatch.core.errors import DispatchError
from dispatch.sessions import client
from dispatch.state.model import FeatureState, SetupResult
from dispatch.state.names import unknown_workstream
from dispatch.state.paths import FeaturePaths
from dispatch.state.store import StateStore
from dispatch.workspace.setup import detect, run_setup


@dataclass(frozen=True)
class Ran:
    name: str
    result: SetupResult


def rerun(paths: FeaturePaths, names: list[str], jobs: int = 4) -> list[Ran]:
    store = StateStore(paths)
    state = store.load()
    chosen = _chosen(state, names)
    commands = {n: state.workstreams[n].setup.command or state.plan.setup or
                detect(paths.worktree(n)) for n in chosen}
    missing = [n for n, command in commands.items() if not command]
    if missing:
        raise DispatchError(f"no setup command for {', '.join(missing)}: give one in the "
                            "spec's frontmatter (setup: ...) or with 'dispatch start --setup'")
    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(chosen)))) as pool:
        done = list(pool.map(partial(_one, paths, state), chosen,
                             [commands[n] for n in chosen]))
    store.update(partial(_record, done=done))
    if state.run is not None and any(r.result.status == "ok" for r in done):
        client.ensure_supervisor(paths)  # sessions that waited on their setup can start
    return done


def _chosen(state: FeatureState, names: list[str]) -> list[str]:
    for name in names:
        if name not in state.workstreams:
            raise unknown_workstream(state.feature, name, list(state.workstreams))
    if names:
        return names
    failed = [n for n, r in state.workstreams.items() if r.setup.status == "failed"]
    if not failed:
        raise DispatchError("no setup has failed; name the workstreams whose setup to run "
                            "again (dispatch setup WORKSTREAM...)")
    return failed


def _one(paths: FeaturePaths, state: FeatureState, name: str, command: str | None
         ) -> Ran:
    assert command is not None
    log = paths.logs / f"{name}.setup.log"
    env = {key: str(port) for key, port in state.workstreams[name].ports.items()}
    return Ran(name, run_setup(command, paths.worktree(name), log, env, paths.relative(log)))


def _record(state: FeatureState, done: list[Ran]) -> None:
    for ran in done:
        record = state.workstreams[ran.name]
        record.setup = ran.result
        if ran.result.status == "ok" and record.status in ("setup_failed", "setting_up"):
            record.status, record.error = "pending", None
