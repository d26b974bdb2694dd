"""What `dispatch clean` may remove — decided before anything is touched.

The rules, for every case (a worker may have done anything with git in its worktree):
- a worktree goes only when git's own `git worktree remove` (without force) would take it —
  nothing uncommitted or untracked, not locked, no submodules — and every commit reachable
  from its HEAD is in a branch that stays;
- a branch goes only when dispatch created it and every commit on it is in a branch that
  stays — or when it is a competing team's attempt that sessions.json records as not picked
  (another team's attempt stands for its workstream: README, Competing teams); its worktree
  goes with it when clean, its RESULTS.md and the comparison are archived;
- a branch checked out in a worktree that stays (kept, a person's own, the main checkout)
  stays too;
- a worktree's `.workstream/` (git ignores it, so `git worktree remove` would take it) goes
  into the archive whole, the worker's own notes with dispatch's files;
- processes the workstream's runs left working in its worktree are stopped before it goes
  (core/strays.py says which are provably ours); one of a person's, on a terminal, keeps it;
- in the feature folder, only what dispatch wrote is removed; anything else is moved into
  the archive and named (a git worktree of someone else's is never touched);
- `integrate --batch`'s scratch worktrees (`.verify/<n>`, detached, nobody's work) are
  removed with force; anything else in `.verify/` is treated as not dispatch's;
- nothing is planned while the feature's supervisor or an autopilot landing runs: they could
  still move the branches and worktrees being checked;
- each refusal says which and why; `--force` takes worktrees and unmerged branches anyway,
  but never a worktree dispatch did not make.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dispatch.commands import clean_archive, clean_rules
from dispatch.commands.clean_rules import WorktreeFacts
from dispatch.core import strays
from dispatch.core.errors import DispatchError
from dispatch.core.text import visible_line
from dispatch.gitops import refs, tree, worktrees
from dispatch.integration.batches import SCRATCH
from dispatch.sessions import client
from dispatch.state import picks
from dispatch.state.model import FeatureState
from dispatch.state.paths import FEATURE_ENTRIES, INTEGRATION, FeaturePaths
from dispatch.workspace.preflight import expect_feature_folder_is_dispatchs


@dataclass
class Removal:
    """One worktree to remove: dispatch's, and proved safe (or forced)."""

    name: str
    path: Path
    head: str | None  # as checked: a worktree whose HEAD moved since is kept
    forced: bool = False
    why: str = ""  # the reason it may go, for the dry run
    work_files: list[str] = field(default_factory=list)  # in its .workstream/, to archive
    owner: strays.Owner | None = None  # a workstream's: whose processes may be in it
    strays: list[strays.Stray] = field(default_factory=list)


@dataclass
class CleanPlan:
    worktrees: list[Removal] = field(default_factory=list)
    branches: dict[str, str] = field(default_factory=dict)  # to delete -> its commit as checked
    branch_reasons: dict[str, str] = field(default_factory=dict)  # to delete -> why it may
    scratch: list[Path] = field(default_factory=list)  # integrate --batch's: removed, forced
    archive: list[Path] = field(default_factory=list)  # not dispatch's: moved, never deleted
    kept: list[str] = field(default_factory=list)  # "what: why", for the user
    kept_names: set[str] = field(default_factory=set)  # workstreams whose worktree stays
    staying: dict[str, str] = field(default_factory=dict)  # branch not to delete -> why
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
    expect_idle(paths)
    scene = _Scene({w.path.resolve(): w for w in worktrees.listed(paths.root)},
                   refs.branch_tips(paths.root))
    expect_feature_folder_is_dispatchs(paths, list(scene.listed.values()))
    result = CleanPlan()
    result.not_picked = _not_picked(state, scene)
    _plan_branches(paths, state, scene, result, force, all_)
    for name, path in _own_worktrees(paths, state).items():
        _plan_worktree(paths, scene, result, name, path, force)
    _plan_strangers(paths, state, scene, result)
    _plan_scratch(paths, scene, result)
    _plan_strays(paths, state, result)
    _keep_checked_out_branches(paths, scene, result)
    return result


def expect_idle(paths: FeaturePaths) -> None:
    """Refuse while the feature's supervisor or an autopilot landing runs."""
    busy = clean_rules.why_busy(paths.feature, client.supervisor_pid(paths),
                                client.landing_pid(paths))
    if busy is not None:
        raise DispatchError(busy)


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
    # A not-picked attempt at its branch's tip: its commits go with it.
    discarded = result.not_picked.get(listed.branch or "") if listed is not None and \
        listed.head == scene.tips.get(listed.branch or "") else None
    why = clean_rules.why_keep_worktree(
        _facts(paths, path, listed, list(result.branches), discarded is not None)) \
        if listed else "it is not a git worktree (did someone replace it?); move it away yourself"
    if listed is not None and (why is None or force):
        folder = clean_archive.work_dir(path)
        files = clean_archive.work_files(folder) if folder else []
        result.worktrees.append(Removal(name, path, listed.head, why is not None,
                                        clean_rules.why_remove_worktree(why, discarded),
                                        files))
        return
    fix = "" if listed is None else ", or pass --force"
    result.kept.append(f"worktree {paths.relative(path)}: {why}{fix}")
    result.kept_names.add(name)


def _facts(paths: FeaturePaths, path: Path, listed: worktrees.Worktree,
           leaving: list[str], discarded: bool) -> WorktreeFacts:
    """What git says about a worktree (reading stops at the first reason to keep it); the
    commits of a `discarded` attempt are not counted: they go with it."""
    if listed.locked:
        return WorktreeFacts(locked=True)
    if (path / ".git").is_file():
        try:
            dirty = tuple(tree.dirty_paths(path))
        except DispatchError as exc:
            return WorktreeFacts(unreadable=exc.message)
        if dirty:
            return WorktreeFacts(dirty=dirty)
    head = listed.head
    outside = refs.count_commits_outside(paths.root, head, leaving) \
        if head and set(head) != {"0"} and not discarded else 0
    return WorktreeFacts(branch=listed.branch, head=head, outside=outside)


def _plan_branches(paths: FeaturePaths, state: FeatureState, scene: _Scene,
                   result: CleanPlan, force: bool, all_: bool) -> None:
    """The branches dispatch made whose every commit stays in another branch (all of them
    with --force, each named with what it held)."""
    made = {r.branch for r in state.workstreams.values() if r.created_branch}
    result.staying = {r.branch: "dispatch did not make it" for r in state.workstreams.values()
                      if not r.created_branch and r.branch in scene.tips}
    integration = state.integration
    if integration is not None and integration.branch in scene.tips:
        if not integration.created_branch:
            result.staying[integration.branch] = "dispatch did not make it"
        elif all_:
            made.add(integration.branch)
        else:
            result.staying[integration.branch] = "the integration branch stays unless --all"
    candidates = [b for b in {*made, *result.not_picked} if b in scene.tips]
    for branch, lost in _recorded_but_lost(paths, state, scene).items():
        if branch in candidates and not force:
            candidates.remove(branch)
            result.kept.append(f"branch {branch}: sessions.json recorded its commit "
                               f"{lost[:10]}, which no branch holds now (was the branch moved "
                               f"back?); keep it (git branch <name> {lost[:10]}), or pass "
                               "--force")
    going, kept = clean_rules.deletable_branches(
        candidates, lambda b, leaving: 0 if b in result.not_picked else
        refs.count_commits_outside(paths.root, scene.tips[b], leaving))
    for branch in going:
        result.branches[branch] = scene.tips[branch]
        result.branch_reasons[branch] = result.not_picked.get(branch, clean_rules.BRANCH_GOES)
    for branch, count in sorted(kept.items()):
        if force:
            result.branches[branch] = scene.tips[branch]
            result.branch_reasons[branch] = \
                f"--force (without it, kept: {count} commit(s) in no other branch)"
        else:
            result.kept.append(f"branch {branch}: {count} commit(s) in no other branch; "
                               "integrate (or merge) it first, or pass --force")


def _recorded_but_lost(paths: FeaturePaths, state: FeatureState,
                       scene: _Scene) -> dict[str, str]:
    """Branches whose workstream's recorded commits (its last checked tip, the tips of its
    fix rounds and merges) are no longer on it nor on any other branch: a worker moved it
    back. Its reflog is then all that holds that work, and deleting it would lose it."""
    merges = state.integration.merges if state.integration else {}
    found: dict[str, str] = {}
    for name, record in state.workstreams.items():
        tip = scene.tips.get(record.branch)
        if tip is None:
            continue
        merge = merges.get(name)
        recorded = {record.tip, *(r.tip for r in record.rounds), merge.tip if merge else None}
        for commit in sorted(c for c in recorded if c and c != tip):
            if refs.commit_of(paths.root, commit) is not None and \
                    not refs.is_ancestor(paths.root, commit, tip) and \
                    not refs.branches_containing(paths.root, commit):
                found[record.branch] = commit
                break
    return found


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
        kind = clean_rules.feature_entry(entry.name, own, SCRATCH,
                                         is_worktree=entry.resolve() in scene.listed)
        if kind == "worktree":  # someone's own `git worktree add` in here: never ours
            result.kept.append(f"worktree {paths.relative(entry)}: dispatch did not make it; "
                               f"remove it yourself ('git worktree remove {entry}')")
        elif kind == "archive":
            result.archive.append(entry)


def _plan_scratch(paths: FeaturePaths, scene: _Scene, result: CleanPlan) -> None:
    """integrate --batch's scratch worktrees under `.verify/`, and whatever else is there."""
    folder = paths.dir / SCRATCH
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        result.archive.append(folder)  # a link or a file of that name: not dispatch's
    if folder.is_symlink() or not folder.is_dir():
        return
    for entry in sorted(folder.iterdir()):
        listed = None if entry.is_symlink() else scene.listed.get(entry.resolve())
        todo, why = clean_rules.scratch_entry(
            is_worktree=listed is not None, branch=listed.branch if listed else None,
            locked=listed is not None and listed.locked)
        if todo == "remove":
            result.scratch.append(entry)
        elif todo == "keep":
            result.kept.append(f"worktree {paths.relative(entry)}: {why}")
        else:
            result.archive.append(entry)


def _plan_strays(paths: FeaturePaths, state: FeatureState, result: CleanPlan) -> None:
    """The processes the workstreams' runs left in the worktrees that go (stopped first);
    a person's on a terminal keeps its worktree."""
    for removal in result.worktrees:
        record = state.workstreams.get(removal.name)
        if record is not None:
            groups = frozenset(p for p in (record.pid, record.setup.pid) if p is not None)
            removal.owner = strays.Owner(removal.path, {"DISPATCH_FEATURE": state.feature,
                                                        "DISPATCH_WORKSTREAM": record.name},
                                         groups)
    owners = [r.owner for r in result.worktrees if r.owner is not None]
    found = strays.find(owners) if owners else {}
    for removal in list(result.worktrees):
        removal.strays = found.get(removal.path, [])
        person = next((s for s in removal.strays if s.on_terminal), None)
        if person is not None:
            result.worktrees.remove(removal)
            result.kept.append(
                f"worktree {paths.relative(removal.path)}: a person's process {person.pid} "
                f"({visible_line(person.command)}) works in it on a terminal; end it (or "
                "leave 'dispatch attach'), then clean again")
            result.kept_names.add(removal.name)


def _keep_checked_out_branches(paths: FeaturePaths, scene: _Scene, result: CleanPlan) -> None:
    """A branch checked out in a worktree that stays stays too (git would refuse to delete
    it, and deleting it under the worktree would leave that worktree on no branch)."""
    going = {r.path.resolve() for r in result.worktrees}
    for path, listed in scene.listed.items():
        if listed.branch in result.branches and path not in going and not listed.prunable:
            del result.branches[listed.branch]
            result.kept.append(f"branch {listed.branch}: checked out in "
                               f"{where(paths, listed.path)}, which stays")


def where(paths: FeaturePaths, worktree: Path) -> str:
    if worktree.resolve() == paths.root.resolve():
        return "your own checkout"
    try:
        return f"the worktree {paths.relative(worktree)}"
    except ValueError:  # someone's worktree outside the repository
        return f"the worktree {worktree}"
