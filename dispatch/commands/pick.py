"""`dispatch pick WS TEAM`: a person chooses which team's attempt stands for a workstream.

Before integration this only records the choice (dependants that have not started build on
it). After, the integration branch is rebuilt with the new pick merged where the old one was
(integration/repick.py), or the change is refused with the branch untouched when that could
lose work. A dependant that already merged the old pick into its own branch would bring it
back: refused too, whatever the integration branch holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from dispatch.core.errors import DispatchError
from dispatch.gitops import refs
from dispatch.integration import repick
from dispatch.sessions import teams
from dispatch.state.locks import try_lock
from dispatch.state.model import FeatureState
from dispatch.state.paths import FeaturePaths
from dispatch.state.store import StateStore


@dataclass
class Picked:
    workstream: str
    attempt: str
    previous: str | None
    swapped: repick.Swapped | None = None  # the integration branch was rebuilt
    unchanged: bool = False  # it was the pick already

    def summary(self) -> str:
        if self.unchanged:
            return f"{self.attempt} is already the pick for {self.workstream}"
        said = f"picked {self.attempt} for {self.workstream}" + (
            f" (instead of {self.previous})" if self.previous else "")
        if self.swapped is not None:
            said += (f"; the integration branch was rebuilt with it in place of "
                     f"{self.previous}: {self.swapped.old_head[:10]} -> "
                     f"{self.swapped.new_head[:10]}")
        return said


def pick(paths: FeaturePaths, workstream: str, team: int) -> Picked:
    lock = try_lock(paths.lock("integrate"), f"feature '{paths.feature}' is busy: "
                    "'dispatch integrate' (or another pick) is running", "wait for it to finish")
    try:
        return _pick(paths, workstream, team)
    finally:
        lock.release()


def _pick(paths: FeaturePaths, workstream: str, team: int) -> Picked:
    store = StateStore(paths)
    repick.finish_pending(paths, store)  # a change of pick cut short is finished first
    state = store.load()
    attempt = _attempt(paths, state, workstream, team)
    previous = state.teams[workstream].picked
    if previous == attempt:
        return Picked(workstream, attempt, previous, unchanged=True)
    _expect_no_dependant_on(state, workstream, previous)
    if previous is not None and repick.is_integrated(state, previous):
        swapped = repick.swap(paths, store, workstream, previous, attempt)
        return Picked(workstream, attempt, previous, swapped)
    store.update(partial(_record, workstream=workstream, attempt=attempt, previous=previous))
    return Picked(workstream, attempt, previous)


def _attempt(paths: FeaturePaths, state: FeatureState, workstream: str, team: int) -> str:
    found = state.teams.get(workstream)
    if found is None:
        raise DispatchError(f"workstream '{workstream}' of '{state.feature}' is not run by "
                            f"teams ({teams.teamed_names(state)})")
    if not 1 <= team <= len(found.attempts):
        raise DispatchError(f"{workstream} has teams 1 to {len(found.attempts)}; pick one of "
                            f"them (e.g. 'dispatch pick {workstream} 1')")
    attempt = found.attempts[team - 1]
    record = state.workstreams.get(attempt)
    if record is None or refs.branch_commit(paths.root, record.branch) is None:
        raise DispatchError(f"{attempt} has no branch to pick (it was never started, or its "
                            f"branch was deleted); pick another team")
    return attempt


def _expect_no_dependant_on(state: FeatureState, workstream: str,
                            previous: str | None) -> None:
    building = [name for name, record in state.workstreams.items()
                if workstream in record.deps_merged]
    if previous is not None and building:
        raise DispatchError(f"{', '.join(building)} already build(s) on {previous} (merged "
                            f"into its branch): a new pick for {workstream} would bring both "
                            "attempts into the feature; keep the pick, or clean and restart "
                            f"{building[0]} after picking")


def _record(state: FeatureState, workstream: str, attempt: str, previous: str | None) -> None:
    teams.set_pick(state, workstream, attempt, "person",
                   "picked by a person" + (f" (instead of {previous})" if previous else ""))
