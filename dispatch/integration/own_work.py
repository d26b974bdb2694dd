"""Where a workstream's own work begins on its branch.

Not at the base: a dependant starts from its dependencies' work (its start commit), and a
branch handed back by the autopilot has merged the integration branch into itself (a fix
round), bringing in every workstream that had landed. Counting from the base would show all
of that as this branch's commits, files and out-of-scope changes. Its own work begins at the
latest integration commit it holds, if that comes after its start.
"""

from __future__ import annotations

from pathlib import Path

from dispatch.gitops import merges, refs
from dispatch.state.model import FeatureState


def own_start(root: Path, state: FeatureState, name: str, tip: str) -> str:
    start = state.workstreams[name].start_commit or state.base
    integrated = _integration_as_it_met(root, state, name)
    if integrated is None:
        return start
    absorbed = merges.merge_base(root, tip, integrated)
    if absorbed is None or absorbed == start or not refs.is_ancestor(root, start, absorbed):
        return start
    return absorbed


def _integration_as_it_met(root: Path, state: FeatureState, name: str) -> str | None:
    """The integration branch just before this branch landed on it (the first parent of its
    merge commit), or as it is now when it has not landed."""
    if state.integration is None:
        return None
    merge = state.integration.merges.get(name)
    if merge is not None and merge.status == "merged" and merge.commit:
        return refs.commit_of(root, f"{merge.commit}^1")
    return refs.branch_commit(root, state.integration.branch)
