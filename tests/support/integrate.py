"""Arranging finished workstreams for integration tests (commits made as a worker would)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from dispatch.state.model import FeatureState
from dispatch.state.paths import FeaturePaths
from dispatch.state.store import StateStore
from tests.support.gitrepo import git, write

FOUR = """\
# Four
## Workstreams
### Workstream 1: Api
**Files**: `api/**`
- [ ] endpoint
### Workstream 2: Web
**Files**: `web/**`
- [ ] page
### Workstream 3: Cli
**Files**: `cli/**`
- [ ] command
### Workstream 4: Docs
**Files**: `docs/**`
- [ ] guide
"""


def work(repo: Path, name: str, files: dict[str, str], feature: str = "four",
         message: str | None = None) -> str:
    """Commit `files` in the workstream's worktree, write RESULTS.md, mark it done."""
    worktree = repo / ".worktrees" / feature / name
    write(worktree, {**files, ".workstream/RESULTS.md": f"# {name}\n\nResults of {name}.\n"})
    git(worktree, "add", "-A")
    git(worktree, "commit", "-q", "-m", message or f"{name}: work")
    StateStore(FeaturePaths(repo, feature)).update(partial(_done, name=name))
    return git(worktree, "rev-parse", "HEAD")


def _done(state: FeatureState, name: str) -> None:
    state.workstreams[name].status = "done"
