"""Changing a team's pick after it was integrated: the integration branch is rebuilt from
its recorded merges, the old pick's merge left out and the new pick's merged in its place.

It is refused, with the branch left as it is, when that could lose anything: a commit on the
integration branch that is not one of dispatch's recorded merges (someone committed there by
hand), a merged branch that holds the old pick (a dependant built on it would bring it back),
a merge that conflicts once the pick is swapped, or uncommitted changes in the worktree.

Crash safety: the rebuilt branch is computed in memory (merge-tree + commit-tree), then the
intent is saved (`IntegrationState.rebuild`) before the branch moves, and cleared after; a
run cut short is finished by the next `pick` or `integrate` (`finish_pending`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from dispatch.core.errors import DispatchError
from dispatch.gitops import history, merges, refs, tree
from dispatch.integration import candidate, checkout
from dispatch.state.model import FeatureState, MergeRecord, Rebuild
from dispatch.state.paths import FeaturePaths
from dispatch.state.store import StateStore


@dataclass
class Swapped:
    old_head: str
    new_head: str
    order: list[str]  # the merges of the rebuilt branch, oldest first


def is_integrated(state: FeatureState, attempt: str) -> bool:
    merge = state.integration.merges.get(attempt) if state.integration else None
    return merge is not None and merge.status == "merged"


def swap(paths: FeaturePaths, store: StateStore, workstream: str, old: str,
         new: str) -> Swapped:
    """Rebuild the integration branch with `new` merged where `old` was. The caller holds
    the integrate lock; the pick itself is recorded with the new merges."""
    finish_pending(paths, store)
    state = store.load()
    assert state.integration is not None
    worktree = paths.root / state.integration.path
    checkout.expect_clean(worktree)
    head = refs.branch_commit(paths.root, state.integration.branch)
    if head is None:
        raise DispatchError(f"the integration branch {state.integration.branch} is missing; "
                            f"run 'dispatch integrate {state.feature}' first")
    order = _recorded_order(paths, state, head)
    new_tip = refs.branch_commit(paths.root, state.workstreams[new].branch)
    if new_tip is None:
        raise DispatchError(f"the branch {state.workstreams[new].branch} of {new} is missing; "
                            "it cannot be picked")
    _expect_nothing_built_on(paths, state, order, old)
    new_head, records = _rebuilt(paths, state, order, (old, new, new_tip))
    rebuild = Rebuild(workstream=workstream, old=old, new=new, old_head=head,
                      new_head=new_head, merges=records)
    store.update(partial(_intend, rebuild=rebuild))
    finish_pending(paths, store)
    return Swapped(head, new_head, [new if n == old else n for n in order])


def _recorded_order(paths: FeaturePaths, state: FeatureState, head: str) -> list[str]:
    """The workstreams merged on the integration branch, oldest first; refused when its
    history holds a commit that is not one of dispatch's recorded merges."""
    assert state.integration is not None
    own = {r.commit: name for name, r in state.integration.merges.items()
           if r.status == "merged" and r.commit and r.reason is None}
    chain = history.first_parents(paths.root, state.base, head)
    strangers = [commit[:10] for commit in chain if commit not in own]
    if strangers:
        raise DispatchError(
            f"the integration branch holds {len(strangers)} commit(s) that are not "
            f"dispatch's recorded merges ({', '.join(strangers[:3])}): rebuilding it would "
            "lose them; move them to a branch of their own, or change the pick by hand")
    return [own[commit] for commit in chain]


def _expect_nothing_built_on(paths: FeaturePaths, state: FeatureState, order: list[str],
                             old: str) -> None:
    assert state.integration is not None
    if old not in order:
        raise DispatchError(f"{old} is not merged in the integration branch; nothing to swap")
    old_tip = state.integration.merges[old].tip or ""
    for name in order:
        tip = state.integration.merges[name].tip
        if name != old and tip and refs.is_ancestor(paths.root, old_tip, tip):
            raise DispatchError(f"{name} holds {old}'s work (it was built on it): swapping the "
                                f"pick would keep {old} in the integration branch through "
                                f"{name}; redo {name} on the new pick first")


def _rebuilt(paths: FeaturePaths, state: FeatureState, order: list[str],
             swap_: tuple[str, str, str]) -> tuple[str, dict[str, MergeRecord]]:
    """The branch rebuilt in memory from the base: (its head, the merge records)."""
    assert state.integration is not None
    old, new, new_tip = swap_
    records = {n: r for n, r in state.integration.merges.items() if n not in (old, new)}
    head = state.base
    for name in order:
        label, tip = (new, new_tip) if name == old else (name, state.integration.merges[name].tip)
        assert tip is not None
        found = candidate.prepare(paths.root, state.base, tip)
        if found.problem is not None:
            raise DispatchError(f"{label} cannot be merged: {found.problem}")
        merged_tree, files = merges.merge_tree(paths.root, head, found.merge_tip)
        if merged_tree is None:
            raise DispatchError(f"with {new} instead of {old}, merging {label} conflicts on "
                                f"{', '.join(files)}: the integration branch is left as it "
                                f"is; resolve that on {new}'s branch first")
        head = merges.commit_tree(paths.root, merged_tree, [head, found.merge_tip],
                                  f"Merge {label} workstream")
        records[label] = MergeRecord(status="merged", tip=tip, commit=head)
    for name, record in list(records.items()):  # "already in" records must stay true
        if record.status == "merged" and record.reason is not None and name not in order:
            if not record.tip or not refs.is_ancestor(paths.root, record.tip, head):
                raise DispatchError(f"{name} is in the integration branch only through "
                                    f"{old}: the swap would lose it")
            records[name] = record.model_copy(update={"commit": head})
    records[old] = MergeRecord(status="skipped", reason=f"not picked: {new} replaced it")
    return head, records


def finish_pending(paths: FeaturePaths, store: StateStore) -> None:
    """Finish a rebuild that was cut short (the branch moves to its new head, then the
    records are saved); do nothing when none is pending."""
    state = store.load()
    integration = state.integration
    if integration is None or integration.rebuild is None:
        return
    rebuild = integration.rebuild
    tip = refs.branch_commit(paths.root, integration.branch)
    worktree = paths.root / integration.path
    if tip not in (rebuild.old_head, rebuild.new_head):
        raise DispatchError(f"the integration branch moved while the pick of "
                            f"{rebuild.workstream} was being changed; check it, then run "
                            f"'dispatch pick {rebuild.workstream} {rebuild.new}' again")
    if not (worktree / ".git").exists():  # (deleted by hand: integrate makes it again)
        if tip is not None and tip != rebuild.new_head:
            refs.move_branch(paths.root, integration.branch, rebuild.new_head, tip)
    else:
        tree.remove_stale_index_lock(worktree)  # (a reset killed half-way; we hold the lock)
        tree.reset_hard(worktree, rebuild.new_head)
    store.update(_finished)


def _intend(state: FeatureState, rebuild: Rebuild) -> None:
    assert state.integration is not None
    state.integration.rebuild = rebuild


def _finished(state: FeatureState) -> None:
    integration = state.integration
    assert integration is not None and integration.rebuild is not None
    rebuild = integration.rebuild
    integration.merges = rebuild.merges
    integration.rebuild = None
    team = state.teams[rebuild.workstream]
    team.picked, team.picked_by = rebuild.new, "person"
    team.reason = f"picked by a person (replacing {rebuild.old} in the integration branch)"
