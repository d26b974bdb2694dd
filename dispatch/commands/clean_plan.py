"""What `dispatch clean` may remove — decided before anything is touched.

The rules, for every case (a worker may have done anything with git in its worktree):
- a worktree goes only when git's own `git worktree remove` (without force) would take it —
  nothing uncommitted or untracked, not locked, no submodules — and every commit reachable
  from its HEAD is in a branch that stays;
- a branch goes only when dispatch created it and every commit on it is in a branch that
  stays — or when it is a competing team's attempt that sessions.json records as not picked
  (another team's attempt stands for its workstream: README, Competing teams); its worktree
  goes with it when clean, its RESULTS.md and the comparison are archived;
- in the feature folder, only what dispatch wrote is removed; anything else is moved into
  the archive and named (a git worktree of someone else's is never touched);
- each refusal says which and why; `--force` takes worktrees and unmerged branches anyway,
  but never a worktree dispatch did not make.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from dispatch.core.errors import DispatchError
from dispatch.gitops import refs, tree, worktrees
from dispatch.state import picks
from dispatch.state.model import FeatureState
from dispatch.state.paths import FEATURE_ENTRIES, INTEGRATION, FeaturePaths
from dispatch.workspace.preflight import expect_feature_folder_is_dispatchs

# Hidden files dispatch writes in the feature folder: locks, atomic-write temp files, and
# the copies `repair` keeps of a damaged sessions.json.
_OWN_HIDDEN = re.compile(r"^\.(?:\w+\.lock|sessions\.json\..*\.tmp)$|^sessions\.json\.damaged-")


@dataclass
class Removal:
    """One worktree to remove: dispatch's, and proved safe (or forced)."""

    name: str
    path: Path
    forced: bool = False


@dataclass
class CleanPlan:
    worktrees: list[Removal] = field(default_factory=list)
    branches: list[str] = field(default_factory=list)
    archive: list[Path] = field(default_factory=list)  # not dispatch's: moved, never deleted
    kept: list[str] = field(default_factory=list)  # "what: why", for the user
    kept_names: set[str] = field(default_factory=set)  # workstreams whose worktree stays
    remote_name: str | None = None
    remote_branches: list[str] = field(default_factory=list)
    not_picked: dict[str, str] = field(default_factory=dict)  # branch -> why it may go

    @property
    def everything(self) -> bool:
        return not self.kept


@dataclass
class _Scene:
    """What git says about the repository, read once."""

    listed: dict[Path, worktrees.Worktree]
    tips: dict[str, str]


def plan(paths: FeaturePaths, state: FeatureState, *, force: bool,
         all_: bool) -> CleanPlan:
    scene = _Scene({w.path.resolve(): w for w in worktrees.listed(paths.root)},
                   refs.branch_tips(paths.root))
    expect_feature_folder_is_dispatchs(paths, list(scene.listed.values()))
    result = CleanPlan()
    result.not_picked = _not_picked(state, scene)
    result.branches = _deletable_branches(paths, state, scene, result, force, all_)
    for name, path in _own_worktrees(paths, state).items():
        _plan_worktree(paths, scene, result, name, path, force)
    _plan_strangers(paths, state, scene, result)
    return result


def _own_worktrees(paths: FeaturePaths, state: FeatureState) -> dict[str, Path]:
    found = {name: paths.root / record.path for name, record in state.workstreams.items()
             if record.path}
    if state.integration is not None:
        found["integration"] = paths.root / state.integration.path
    return found


def _plan_worktree(paths: FeaturePaths, scene: _Scene, result: CleanPlan, name: str,
                   path: Path, force: bool) -> None:
    if not path.exists():
        return
    listed = scene.listed.get(path.resolve())
    discarded = listed is not None and listed.branch in result.not_picked and \
        listed.head == scene.tips.get(listed.branch or "")
    why = _why_not_removable(paths, path, listed, result.branches, discarded) if listed else (
        "it is not a git worktree (did someone replace it?); move it away yourself")
    if why is None or (force and listed is not None):
        result.worktrees.append(Removal(name, path, forced=why is not None))
        return
    fix = "" if listed is None else ", or pass --force"
    result.kept.append(f"worktree {paths.relative(path)}: {why}{fix}")
    result.kept_names.add(name)


def _why_not_removable(paths: FeaturePaths, path: Path, listed: worktrees.Worktree,
                       leaving: list[str], discarded: bool = False) -> str | None:
    """`discarded`: it is a not-picked attempt at its branch's tip: its commits go with it."""
    if listed.locked:
        return "it is locked ('git worktree unlock' it first)"
    if (path / ".git").is_file():
        try:
            dirty = tree.dirty_paths(path)
        except DispatchError as exc:
            return f"git cannot read it ({exc.message})"
        if dirty:
            return (f"{len(dirty)} uncommitted or untracked file(s) ({', '.join(dirty[:3])}): "
                    "commit them")
    head = listed.head
    if head and set(head) != {"0"} and not discarded:
        lost = refs.count_commits_outside(paths.root, head, leaving)
        if lost:
            where = f"its branch {listed.branch}" if listed.branch else \
                f"its detached HEAD {head[:10]}"
            return (f"{where} holds {lost} commit(s) that no branch that stays has; keep "
                    f"them on a branch (git branch <name> {head[:10]})")
    return None


def _deletable_branches(paths: FeaturePaths, state: FeatureState, scene: _Scene,
                        result: CleanPlan, force: bool, all_: bool) -> list[str]:
    """The branches dispatch made whose every commit stays in another branch (a fixpoint:
    a branch that must stay can be what keeps another one's commits)."""
    made = {r.branch for r in state.workstreams.values() if r.created_branch}
    if all_ and state.integration is not None and state.integration.created_branch:
        made.add(state.integration.branch)
    candidates = sorted(b for b in made if b in scene.tips)
    candidates = sorted({*candidates, *result.not_picked})
    kept: dict[str, int] = {}
    while not force:
        lost = {b: refs.count_commits_outside(paths.root, scene.tips[b], candidates)
                for b in candidates if b not in result.not_picked}
        keep = {b: n for b, n in lost.items() if n}
        if not keep:
            break
        kept.update(keep)
        candidates = [b for b in candidates if b not in keep]
    for branch, count in sorted(kept.items()):
        result.kept.append(f"branch {branch}: {count} commit(s) in no other branch; "
                           "integrate (or merge) it first, or pass --force")
    return candidates


def _not_picked(state: FeatureState, scene: _Scene) -> dict[str, str]:
    """The branches of attempts recorded as not picked, that dispatch made: {branch: why}.
    An attempt with no pick recorded for its workstream is never among them."""
    found = {}
    for name, workstream in picks.not_picked(state).items():
        record = state.workstreams.get(name)
        if record is not None and record.created_branch and record.branch in scene.tips:
            found[record.branch] = (f"not picked: {state.teams[workstream].picked} stands "
                                    f"for {workstream}")
    return found


def _plan_strangers(paths: FeaturePaths, state: FeatureState, scene: _Scene,
                    result: CleanPlan) -> None:
    """Entries of the feature folder that dispatch did not write."""
    if not paths.dir.is_dir():
        return
    own = {*FEATURE_ENTRIES, *(Path(r.path).name for r in state.workstreams.values() if r.path)}
    if state.integration is None:
        own.discard(INTEGRATION)  # no integration ran: whatever is there is not dispatch's
    for entry in sorted(paths.dir.iterdir()):
        if entry.name in own or _OWN_HIDDEN.match(entry.name):
            continue
        listed = scene.listed.get(entry.resolve())
        if listed is not None:  # someone's own `git worktree add` in here: never ours
            result.kept.append(f"worktree {paths.relative(entry)}: dispatch did not make it; "
                               f"remove it yourself ('git worktree remove {entry}')")
        else:
            result.archive.append(entry)
