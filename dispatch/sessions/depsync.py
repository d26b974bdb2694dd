"""Bringing a workstream's branch up to date with the branches it depends on.

Runs in the workstream's own worktree before its session starts, one merge per dependency so
that a conflict names the dependency that caused it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dispatch.gitops import merges, tree


@dataclass
class SyncResult:
    merged: list[str] = field(default_factory=list)
    conflict_with: str | None = None
    files: list[str] = field(default_factory=list)
    dirty: list[str] = field(default_factory=list)


def merge_dependencies(worktree: Path, name: str, deps: list[tuple[str, str]]) -> SyncResult:
    """Merge each (dependency, branch) into the worktree's branch; stop at a conflict."""
    result = SyncResult()
    result.dirty = tree.dirty_paths(worktree)
    if result.dirty:
        return result
    for dep, branch in deps:
        conflicted = merges.merge_into_checkout(worktree, branch,
                                                f"Merge {dep} workstream into {name}")
        if conflicted is not None:
            result.conflict_with, result.files = dep, conflicted
            return result
        result.merged.append(dep)
    return result
