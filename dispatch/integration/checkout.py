"""The integration worktree `.worktrees/<feature>/integration` on `<feature>/integration`.

It is dispatch's own checkout: merges land there, the verify command runs there, and the
user's checkout is never switched. It gets its own ports and a copy of .env like any worktree.

Crash safety: the integration record is saved before the branch is made (so a rerun knows
the branch is dispatch's), a worktree registered but never checked out is checked out on the
next run (one never given a HEAD is made again), and a fast-forward is recorded before it
starts (`advancing`): one cut short is taken back by the next run before anything else
happens.
"""

from __future__ import annotations

from pathlib import Path

from dispatch.core.errors import DispatchError
from dispatch.gitops import history, refs, tree, worktrees
from dispatch.state.model import FeatureState, IntegrationState
from dispatch.state.paths import INTEGRATION, FeaturePaths
from dispatch.workspace import ports
from dispatch.workspace.envfile import read_root_env, write_worktree_env


def planned(paths: FeaturePaths, state: FeatureState, *, force: bool) -> IntegrationState:
    """The integration record (existing, or new); refuse to take over a branch that dispatch
    did not make unless `force`. Changes nothing."""
    if state.integration is not None:
        return state.integration
    branch = f"{state.feature}/{INTEGRATION}"
    exists = refs.branch_commit(paths.root, branch) is not None
    if exists and not force:
        raise DispatchError(f"branch '{branch}' exists but was not made by dispatch; pass "
                            "--force to integrate into it as it is, or rename it")
    return IntegrationState(branch=branch, path=paths.relative(paths.integration),
                            created_branch=not exists)


def ensure(paths: FeaturePaths, state: FeatureState, integration: IntegrationState) -> None:
    """Make the branch and the checked-out worktree exist (the record is already saved)."""
    path = paths.root / integration.path
    if refs.branch_commit(paths.root, integration.branch) is None:
        refs.create_branches(paths.root, [integration.branch], state.base)
    if (path / ".git").exists() and refs.commit_of(path, "HEAD") is None:
        # `worktree add` killed after it registered the worktree and before it gave it a
        # HEAD (all zeros, locked "initializing"): dispatch's own, holding nothing yet.
        worktrees.remove(paths.root, path)
    made_now = not (path / ".git").exists()
    if made_now:
        _register(paths, integration, path)
    if not tree.is_checked_out(path):
        tree.checkout(path)
        _env_and_ports(paths, state, integration, path)
    if integration.advancing is not None:
        _undo_advance(path, integration.advancing)
    elif made_now:
        return  # made and checked out just now: nothing of anyone's can be in it yet
    expect_clean(path)


def _register(paths: FeaturePaths, integration: IntegrationState, path: Path) -> None:
    listed = worktrees.listed(paths.root)
    holder = next((w for w in listed if w.branch == integration.branch), None)
    if holder is not None and not holder.prunable and holder.path.resolve() != path.resolve():
        raise DispatchError(f"branch '{integration.branch}' is checked out at {holder.path}; "
                            "switch that checkout to another branch first")
    half_made = any(w.path.resolve() == path.resolve() and w.branch is None for w in listed)
    if half_made:
        worktrees.remove(paths.root, path)  # `worktree add` cut short: dispatch's own
    elif path.exists() and any(path.iterdir()):
        raise DispatchError(f"{paths.relative(path)} exists but is not the integration "
                            "worktree; move it away and run dispatch integrate again")
    worktrees.register(paths.root, path, integration.branch, reclaim=holder is not None)


def _env_and_ports(paths: FeaturePaths, state: FeatureState, integration: IntegrationState,
                   path: Path) -> None:
    env = read_root_env(paths.root)
    if not integration.ports:
        integration.ports = ports.assign(ports.base_ports(None, state.plan.base_port, env),
                                         len(state.workstreams) + 1,
                                         ports.recorded_ports(paths.root))
    if env is not None:
        write_worktree_env(env, path, integration.ports)


def _undo_advance(path: Path, target: str) -> None:
    """A fast-forward to `target` was cut short: back to the branch's tip, and away with the
    untracked files it had begun to write (only files `target` brings)."""
    tree.remove_stale_index_lock(path)  # the killed fast-forward's; we hold integrate's lock
    tree.reset_hard(path)
    if refs.commit_of(path, target) is None:
        return
    brought = set(history.changed_files(path, "HEAD", target))
    for name in tree.dirty_paths(path):
        if name in brought:
            (path / name).unlink(missing_ok=True)


def remove(paths: FeaturePaths, integration: IntegrationState, base: str) -> None:
    worktrees.remove(paths.root, paths.root / integration.path)
    if integration.created_branch:
        refs.delete_branch_if_unchanged(paths.root, integration.branch, base)


def expect_clean(path: Path) -> None:
    dirty = tree.dirty_paths(path)
    if dirty:
        raise DispatchError(f"the integration worktree {path} has uncommitted changes "
                            f"({', '.join(dirty[:5])}); commit or remove them first")


def head(path: Path) -> str:
    return refs.head(path)


def advance(path: Path, commit: str) -> None:
    """Move the integration branch (checked out here) forward to `commit`."""
    tree.fast_forward(path, commit)


def rewind(path: Path, commit: str) -> None:
    """Take a merge back out: the branch returns to `commit`, the last green state."""
    tree.reset_hard(path, commit)
