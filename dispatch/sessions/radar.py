"""The conflict radar: while sessions run, find the moment two workstream branches stop
merging cleanly, while their authors can still talk about it.

Once a second (`INTERVAL`), the supervisor reads every branch tip in one `for-each-ref`; only
pairs where a tip moved since the last look, and at least one side has a session running,
are merged in memory (`git merge-tree`, a few milliseconds a pair). A pair that starts to
collide gets a dated note appended to COORDINATION.md (which every worker reads) and is
recorded in sessions.json, where `status` shows it and the next prompt of either session
(a retry, a follow-up, a `tell`, a fix round) names it (`told_text`). A pair that merges
cleanly again is dropped.
"""

from __future__ import annotations

import sys
import time
import traceback
from functools import partial
from itertools import combinations

from dispatch.core import files as untrusted
from dispatch.gitops import merges, refs
from dispatch.gitops.runner import GitError
from dispatch.state.model import Collision, FeatureState, now
from dispatch.state.paths import FeaturePaths
from dispatch.state.store import StateStore

INTERVAL = 1.0  # seconds between looks at the branch tips


class Radar:
    def __init__(self, paths: FeaturePaths) -> None:
        self.paths = paths
        self.checked: dict[tuple[str, str], tuple[str, str]] = {}  # pair -> tips merged
        self.last_look = 0.0

    def tick(self, store: StateStore, state: FeatureState) -> None:
        """Look again if it is time; a failure is logged, never the supervisor's."""
        if time.monotonic() - self.last_look < INTERVAL:
            return
        self.last_look = time.monotonic()
        try:
            self._look(store, state)
        except (GitError, OSError):
            print(f"[{now().isoformat()}] the conflict radar could not look:\n"
                  f"{traceback.format_exc()}", file=sys.stderr, flush=True)

    def _look(self, store: StateStore, state: FeatureState) -> None:
        found = self.scan(state)
        if found is None:
            return
        fresh, cleared = found
        if not fresh and not cleared:
            return
        store.update(partial(record, fresh=fresh, cleared=cleared))
        for collision in fresh:
            note(self.paths, collision)

    def scan(self, state: FeatureState) -> tuple[list[Collision], set[tuple[str, str]]] | None:
        """(pairs that newly collide, pairs that merge cleanly again); None when nothing
        live moved."""
        live = {n for n, r in state.workstreams.items() if r.status == "running"}
        landed = landed_pairs(state)
        if not live and not landed:
            return None
        tips = refs.branch_tips(self.paths.root)  # a `**Branch**:` may be any branch
        branch_tip = {name: tips.get(record.branch) for name, record in state.workstreams.items()}
        known = {(c.a, c.b): c for c in state.collisions}
        fresh: list[Collision] = []
        cleared: set[tuple[str, str]] = set(landed)
        for a, b in combinations(state.names(), 2):
            if not ({a, b} & live) or _rivals(state, a, b):
                continue
            tip_a, tip_b = branch_tip.get(a), branch_tip.get(b)
            if tip_a is None or tip_b is None or self.checked.get((a, b)) == (tip_a, tip_b):
                continue
            self.checked[(a, b)] = (tip_a, tip_b)
            if tip_a == state.base or tip_b == state.base:
                continue  # no work on one side yet: nothing to collide with
            try:
                _, conflicted = merges.merge_tree(self.paths.root, tip_a, tip_b)
            except GitError:
                continue  # e.g. unrelated histories: integrate names that branch's problem
            before = known.get((a, b))
            if not conflicted:
                if before is not None:
                    cleared.add((a, b))
            elif before is None or sorted(before.files) != sorted(conflicted):
                fresh.append(Collision(a=a, b=b, files=sorted(conflicted), tips=[tip_a, tip_b]))
        return fresh, cleared


def _rivals(state: FeatureState, a: str, b: str) -> bool:
    """Two competing teams' attempts at one workstream: they overlap by design and only one
    is kept, so they are never told about each other (README: Competing teams)."""
    team = state.workstreams[a].team_of
    return team is not None and team == state.workstreams[b].team_of


def landed_pairs(state: FeatureState) -> set[tuple[str, str]]:
    """Recorded collisions whose two branches have both landed in the integration branch:
    merged there, so resolved there; no longer news for anyone."""
    merges = state.integration.merges if state.integration else {}
    return {(c.a, c.b) for c in state.collisions
            if all(merges.get(n) is not None and merges[n].status == "merged"
                   and merges[n].tip == state.workstreams[n].tip for n in (c.a, c.b)
                   if n in state.workstreams)}


def record(state: FeatureState, fresh: list[Collision],
           cleared: set[tuple[str, str]]) -> None:
    """Keep the live collisions: new ones in, resolved ones out. A pair whose files changed
    is news again: both are told anew."""
    replaced = {(c.a, c.b) for c in fresh}
    state.collisions = [c for c in state.collisions
                        if (c.a, c.b) not in cleared and (c.a, c.b) not in replaced] + fresh


def note(paths: FeaturePaths, collision: Collision) -> None:
    """A dated note at the end of COORDINATION.md (workers append there too: append only)."""
    stamp = collision.since.strftime("%Y-%m-%d %H:%M UTC")
    files = ", ".join(f"`{f}`" for f in collision.files)
    text = (f"\n### Collision: {collision.a} × {collision.b} ({stamp})\n\n"
            f"The branches of **{collision.a}** and **{collision.b}** no longer merge cleanly: "
            f"both change {files}. Agree here who changes what; whoever lands second will "
            "have to merge the other's work.\n")
    with untrusted.open_log(paths.coordination) as out:
        out.write(text.encode())


def told_text(state: FeatureState, name: str, attempt: int) -> str | None:
    """What a run of `name` is told about its collisions (those marked for this run)."""
    lines = [f"- your branch and **{c.other(name)}**'s both change "
             f"{', '.join(f'`{f}`' for f in c.files)}"
             for c in state.collisions if c.told.get(name) == attempt]
    if not lines:
        return None
    return ("Heads-up from dispatch's conflict radar: your work now collides with another "
            "workstream's (see the note in COORDINATION.md):\n" + "\n".join(lines) +
            "\nKeep your changes to those files small and say in COORDINATION.md what you "
            "change there.")


def mark_told(state: FeatureState, name: str, attempt: int) -> None:
    """Mark the collisions `name` has not heard of as told in this run."""
    for collision in state.collisions:
        if collision.involves(name) and name not in collision.told:
            collision.told[name] = attempt


def describe(state: FeatureState) -> list[str]:
    """One line per live collision, for `status`."""
    return [f"{c.a} × {c.b}: {', '.join(c.files)} (since {c.since.strftime('%H:%M')})"
            for c in state.collisions]
