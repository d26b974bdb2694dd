"""The integration worktree `.worktrees/<feature>/integration` on `<feature>/integration`.

It is dispatch's own checkout: merges land there, the verify command runs there, and the
user's checkout is never switched. It gets its own ports and a copy of .env like any worktree.
"""

from __future__ import annotations

from pathlib import Path

from dispatch import git, ports, worktrees
from dispatch.envfile import read_root_env, write_worktree_env
from dispatch.errors import DispatchError
from dispatch.paths import FeaturePaths
from dispatch.state_models import FeatureState, IntegrationState

NAME = "integration"


def ensure(paths: FeaturePaths, state: FeatureState, *, force: bool) -> IntegrationState:
    """Create (or find) the integration branch and worktree; refuse to take over a branch
    that dispatch did not make unless `force`."""
    branch = f"{state.feature}/{NAME}"
    path = paths.worktree(NAME)
    integration = state.integration
    exists = git.commit_of(paths.root, f"refs/heads/{branch}") is not None
    if exists and integration is None and not force:
        raise DispatchError(f"branch '{branch}' exists but was not made by dispatch; pass "
                            "--force to integrate into it as it is, or rename it")
    if integration is None:
        integration = IntegrationState(branch=branch, path=paths.relative(path),
                                       created_branch=not exists)
    if not (path / ".git").exists():
        _create(paths, state, integration, path, exists)
    expect_clean(path)
    return integration


def _create(paths: FeaturePaths, state: FeatureState, integration: IntegrationState,
            path: Path, branch_exists: bool) -> None:
    if path.exists() and any(path.iterdir()):
        raise DispatchError(f"{paths.relative(path)} exists but is not the integration "
                            "worktree; move it away and run dispatch integrate again")
    holder = next((w for w in git.worktrees(paths.root) if w.branch == integration.branch),
                  None)
    if holder is not None and not holder.prunable and holder.path.resolve() != path.resolve():
        raise DispatchError(f"branch '{integration.branch}' is checked out at {holder.path}; "
                            "switch that checkout to another branch first")
    if not branch_exists:
        worktrees.create_branches(paths.root, [
            f"create refs/heads/{integration.branch} {state.base}\n"])
    worktrees.register(paths.root, path, integration.branch, reclaim=holder is not None)
    worktrees.checkout(path)
    if not integration.ports:
        integration.ports = ports.assign(ports.base_ports(None, state.plan.base_port,
                                                          read_root_env(paths.root)),
                                         len(state.workstreams) + 1,
                                         ports.recorded_ports(paths.root))
    env = read_root_env(paths.root)
    if env is not None:
        write_worktree_env(env, path, integration.ports)


def remove(paths: FeaturePaths, integration: IntegrationState, base: str) -> None:
    worktrees.remove(paths.root, paths.root / integration.path)
    if integration.created_branch:
        worktrees.delete_branch_if_unchanged(paths.root, integration.branch, base)


def expect_clean(path: Path) -> None:
    dirty = git.dirty_paths(path)
    if dirty:
        raise DispatchError(f"the integration worktree {path} has uncommitted changes "
                            f"({', '.join(dirty[:5])}); commit or remove them first")


def head(path: Path) -> str:
    return git.run(["rev-parse", "HEAD"], path).strip()


def advance(path: Path, commit: str) -> None:
    """Move the integration branch (checked out here) forward to `commit`."""
    git.run(["merge", "--ff-only", "--quiet", commit], path)


def rewind(path: Path, commit: str) -> None:
    """Take a merge back out: the branch returns to `commit`, the last green state."""
    git.run(["reset", "--hard", "--quiet", commit], path)
