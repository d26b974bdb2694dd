"""Bringing a workstream's branch up to date with the branches it depends on.

Runs in the workstream's own worktree before its session starts, one merge per dependency so
that a conflict names the dependency that caused it. The merges are dispatch's own commits,
made like integration's: computed in memory (`git merge-tree` + `git commit-tree`), never
signed, whatever the user's merge settings, then checked out with a fast-forward (a branch
with nothing of its own yet simply moves forward). A fast-forward killed half-way is taken
back on the next sync (gitops/cut_checkout.py). A dependency's force-added working files
(`.workstream/`) are left out, as in integration, so they never overwrite this worktree's
own TASKS.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dispatch.gitops import cut_checkout, merges, refs, tree
from dispatch.integration import candidate


@dataclass
class SyncResult:
    merged: list[str] = field(default_factory=list)
    conflict_with: str | None = None
    files: list[str] = field(default_factory=list)
    dirty: list[str] = field(default_factory=list)
    problem: str | None = None  # why it could not even try (off its branch, odd history)


def merge_dependencies(worktree: Path, branch: str, base: str,
                       deps: list[tuple[str, str]]) -> SyncResult:
    """Merge each (dependency, its branch) into `branch`, checked out at `worktree`; stop at
    the first conflict."""
    result = SyncResult()
    on_branch = refs.current_branch(worktree) == branch
    result.dirty = tree.dirty_paths(worktree)
    if result.dirty and on_branch and _took_back_a_cut_sync(worktree, base, deps, result.dirty):
        result.dirty = tree.dirty_paths(worktree)
    if result.dirty:
        return result
    if not on_branch:
        result.problem = f"its worktree is not on its branch {branch}"
        return result
    for dep, dep_branch in deps:
        if not _merge_one(worktree, branch, base, dep, dep_branch, result):
            return result
        result.merged.append(dep)
    return result


def _took_back_a_cut_sync(worktree: Path, base: str, deps: list[tuple[str, str]],
                          dirty: list[str]) -> bool:
    """An earlier sync killed while it checked out the first dependency not yet in left
    that dependency's files behind: taken back when they are exactly that (then merged
    again as usual)."""
    head = refs.head(worktree)
    for _, dep_branch in deps:
        tip = refs.branch_commit(worktree, dep_branch)
        if tip is None:
            return False
        found = candidate.prepare(worktree, base, tip)
        if found.problem is not None:
            return False
        if refs.is_ancestor(worktree, tip, head):
            continue
        target, _ = _checkout_target(worktree, head, found.merge_tip)
        return target is not None and cut_checkout.take_back(worktree, target, dirty)
    return False


def _checkout_target(worktree: Path, head: str, merge_tip: str) -> tuple[str | None, list[str]]:
    """What bringing `merge_tip` in checks out: the tip itself when `head` has nothing of
    its own (a fast-forward), else the tree of their merge; (None, files) on a conflict."""
    if refs.is_ancestor(worktree, head, merge_tip):
        return merge_tip, []
    return merges.merge_tree(worktree, head, merge_tip)


def _merge_one(worktree: Path, branch: str, base: str, dep: str, dep_branch: str,
               result: SyncResult) -> bool:
    head = refs.head(worktree)
    tip = refs.branch_commit(worktree, dep_branch)
    if tip is None:
        result.problem = f"the branch {dep_branch} of its dependency {dep} is missing"
        return False
    found = candidate.prepare(worktree, base, tip)
    if found.problem is not None:
        result.problem = f"its dependency {dep}: {found.problem}"
        return False
    if refs.is_ancestor(worktree, tip, head):
        return True  # already in (merged by an earlier run)
    merged_tree, files = _checkout_target(worktree, head, found.merge_tip)
    if merged_tree is None:
        result.conflict_with, result.files = dep, files
        return False
    if merged_tree == found.merge_tip:
        tree.fast_forward(worktree, found.merge_tip)  # nothing of its own yet: no merge
        return True
    name = branch.rsplit("/", 1)[-1]
    commit = merges.commit_tree(worktree, merged_tree, [head, found.merge_tip],
                                f"Merge {dep} workstream into {name}")
    tree.fast_forward(worktree, commit)
    return True
