"""`dispatch clean`: stop a feature's sessions, remove its worktrees and merged branches,
archive its state — and refuse, naming which and why, to drop anything not merged.

A worktree with uncommitted changes, or a branch with commits the integration branch does
not hold, is kept unless --force. The integration branch itself is kept unless --all.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from dispatch.gitops import refs, remotes, tree, worktrees
from dispatch.sessions import client
from dispatch.state.locks import try_lock
from dispatch.state.model import FeatureState
from dispatch.state.paths import (
    ARCHIVE,
    COORDINATION,
    PLAN_FILE,
    REPORT,
    STATE_FILE,
    WORKTREES,
    FeaturePaths,
)
from dispatch.state.store import StateStore

_KEEP_FILES = (STATE_FILE, REPORT, COORDINATION, PLAN_FILE)


@dataclass
class CleanPlan:
    worktrees: list[str] = field(default_factory=list)  # workstream (or "integration") names
    branches: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # "what: why", for the user
    kept_worktrees: list[str] = field(default_factory=list)
    remote_name: str | None = None
    remote_branches: list[str] = field(default_factory=list)

    @property
    def everything(self) -> bool:
        return not self.kept


def plan(paths: FeaturePaths, state: FeatureState, *, force: bool, all_: bool,
         remote_name: str | None) -> CleanPlan:
    result = CleanPlan()
    target = _merge_target(paths, state)
    for name, record in state.workstreams.items():
        _plan_worktree(paths, result, name, force)
        if name in result.worktrees or not (paths.worktree(name) / ".git").exists():
            _plan_branch(paths, state, result, record.branch, target, force)
    if state.integration is not None:
        _plan_worktree(paths, result, "integration", force)
        if all_:
            _plan_integration_branch(paths, state, result, force)
    if remote_name is not None:
        result.remote_name = remote_name
        result.remote_branches = _remote_merged(paths, state, remote_name, target, all_)
    return result


def _merge_target(paths: FeaturePaths, state: FeatureState) -> str:
    """What a branch must be merged into to be deleted: the integration branch, else base."""
    if state.integration is not None:
        head = refs.branch_commit(paths.root, state.integration.branch)
        if head is not None:
            return head
    return state.base


def _plan_worktree(paths: FeaturePaths, result: CleanPlan, name: str, force: bool) -> None:
    path = paths.worktree(name)
    if not path.exists():
        return
    dirty = tree.dirty_paths(path) if (path / ".git").exists() else []
    if dirty and not force:
        result.kept.append(f"worktree {paths.relative(path)}: {len(dirty)} uncommitted "
                           f"file(s) ({', '.join(dirty[:3])}); commit them or pass --force")
        result.kept_worktrees.append(name)
    else:
        result.worktrees.append(name)


def _plan_branch(paths: FeaturePaths, state: FeatureState, result: CleanPlan, branch: str,
                 target: str, force: bool) -> None:
    tip = refs.branch_commit(paths.root, branch)
    if tip is None:
        return
    if force or refs.is_ancestor(paths.root, tip, target):
        result.branches.append(branch)
        return
    into = state.integration.branch if state.integration else "the base"
    count = refs.count_commits(paths.root, f"{target}..{tip}")
    result.kept.append(f"branch {branch}: {count} commit(s) not in {into}; integrate it or "
                       "pass --force")


def _plan_integration_branch(paths: FeaturePaths, state: FeatureState, result: CleanPlan,
                             force: bool) -> None:
    assert state.integration is not None
    branch = state.integration.branch
    tip = refs.branch_commit(paths.root, branch)
    if tip is None:
        return
    others = [b for b in refs.branches_containing(paths.root, tip) if b != branch]
    if force or others or tip == state.base:
        result.branches.append(branch)
    else:
        result.kept.append(f"branch {branch}: its merges are in no other branch; merge it "
                           "into yours first or pass --force")


def _remote_merged(paths: FeaturePaths, state: FeatureState, name: str, target: str,
                   all_: bool) -> list[str]:
    remotes.expect_remote(paths.root, name)
    doomed = []
    for branch, sha in remotes.heads(paths.root, name, f"{state.feature}/*").items():
        if branch.endswith("/integration") and not all_:
            continue
        if refs.commit_of(paths.root, sha) and refs.is_ancestor(paths.root, sha, target):
            doomed.append(branch)
    return doomed


def execute(paths: FeaturePaths, clean_plan: CleanPlan, retry_delay: float) -> list[str]:
    """Carry out a plan; returns what was done, one line each."""
    done = [f"stopped {name}" for name in client.stop(paths, None)]
    with try_lock(paths.lock("start"), f"feature '{paths.feature}' is busy",
                  "wait for 'dispatch start' to finish"), \
            try_lock(paths.lock("integrate"), f"feature '{paths.feature}' is busy",
                     "wait for 'dispatch integrate' to finish"):
        for name in clean_plan.worktrees:
            _remove_tree(paths.worktree(name))
            done.append(f"removed worktree {paths.relative(paths.worktree(name))}")
        worktrees.prune(paths.root)
        for branch in clean_plan.branches:
            refs.delete_branch(paths.root, branch)
            done.append(f"deleted branch {branch}")
        done += _forget(paths, clean_plan)
    if clean_plan.remote_name and clean_plan.remote_branches:
        remotes.delete(paths.root, clean_plan.remote_name, clean_plan.remote_branches,
                       retry_delay)
        done += [f"deleted {clean_plan.remote_name}/{b}" for b in clean_plan.remote_branches]
    return done


def _remove_tree(path: Path) -> None:
    """rm -rf, then one `git worktree prune` for all (faster than `git worktree remove`);
    read-only files (some tools make them) are made writable first."""
    for item in path.rglob("*"):
        if not item.is_symlink() and not item.stat().st_mode & 0o200:
            item.chmod(item.stat().st_mode | 0o200)
    shutil.rmtree(path)


def _forget(paths: FeaturePaths, clean_plan: CleanPlan) -> list[str]:
    """Archive the state; drop the feature folder if nothing of it is left."""
    archive = paths.root / WORKTREES / ARCHIVE / f"{paths.feature}-{time.strftime('%Y%m%d-%H%M%S')}"
    archive.mkdir(parents=True, exist_ok=True)
    for name in _KEEP_FILES:
        if (paths.dir / name).exists():
            shutil.copy2(paths.dir / name, archive / name)
    for folder in ("results", "logs"):
        if (paths.dir / folder).is_dir():
            shutil.copytree(paths.dir / folder, archive / folder, dirs_exist_ok=True)
    lines = [f"archived sessions.json and INTEGRATION.md to {paths.relative(archive)}"]
    if clean_plan.everything:
        shutil.rmtree(paths.dir, ignore_errors=True)
        lines.append(f"removed {paths.relative(paths.dir)}")
    else:
        StateStore(paths).update(lambda state: _drop_records(state, clean_plan))
    return lines


def _drop_records(state: FeatureState, clean_plan: CleanPlan) -> None:
    """Forget the workstreams that are entirely gone: worktree and branch."""
    for name in list(state.workstreams):
        if state.workstreams[name].branch in clean_plan.branches and \
                name not in clean_plan.kept_worktrees:
            del state.workstreams[name]


def describe(paths: FeaturePaths, state: FeatureState, clean_plan: CleanPlan) -> list[str]:
    running = [n for n, r in state.workstreams.items() if r.status in ("running", "retrying")]
    lines = [f"would stop {name}" for name in running]
    lines += [f"would remove worktree {paths.relative(paths.worktree(n))}"
              for n in clean_plan.worktrees]
    lines += [f"would delete branch {b}" for b in clean_plan.branches]
    lines += [f"would delete {clean_plan.remote_name}/{b}" for b in clean_plan.remote_branches]
    lines.append("would archive sessions.json and INTEGRATION.md under "
                 f"{WORKTREES}/{ARCHIVE}/")
    return lines
