"""Bringing a workstream's branch up to date with the branches it depends on.

Runs in the workstream's own worktree before its session starts, one merge per dependency so
that a conflict names the dependency that caused it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dispatch import git


@dataclass
class SyncResult:
    merged: list[str] = field(default_factory=list)
    conflict_with: str | None = None
    files: list[str] = field(default_factory=list)
    dirty: list[str] = field(default_factory=list)


def merge_dependencies(worktree: Path, name: str, deps: list[tuple[str, str]]) -> SyncResult:
    """Merge each (dependency, branch) into the worktree's branch; stop at a conflict."""
    result = SyncResult()
    result.dirty = git.dirty_paths(worktree)
    if result.dirty:
        return result
    for dep, branch in deps:
        proc = git.result(["merge", "--no-edit", "-m", f"Merge {dep} workstream into {name}",
                           f"refs/heads/{branch}"], worktree)
        if proc.returncode != 0:
            result.conflict_with = dep
            result.files = conflicted_files(worktree)
            git.result(["merge", "--abort"], worktree)
            return result
        result.merged.append(dep)
    return result


def conflicted_files(worktree: Path) -> list[str]:
    out = git.run(["diff", "--name-only", "-z", "--diff-filter=U"], worktree, check=False)
    return [name for name in out.split("\0") if name]
