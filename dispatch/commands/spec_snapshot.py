"""The spec as planned, kept in the feature folder (`.worktrees/<feature>/spec.md`).

Worktrees are made from a commit, so a spec the coordinator has just written or edited is
not in them; the workers read this copy instead (COORDINATION.md, TASKS.md and the prompts
point at it). It is written when a spec is planned (`dispatch start specs/x.md`) and left
alone when a feature is continued (`dispatch start <feature>`)."""

from __future__ import annotations

import os
from pathlib import Path

from dispatch.core import ui
from dispatch.gitops import tree
from dispatch.state.paths import FeaturePaths
from dispatch.state.store import write_if_changed


def write(paths: FeaturePaths, spec: Path) -> None:
    write_if_changed(paths.spec_snapshot, spec.read_text(encoding="utf-8-sig"))


def write_text(paths: FeaturePaths, text: str) -> None:
    """A snapshot made of other files (instruction files as workers: all of them)."""
    write_if_changed(paths.spec_snapshot, text)


def warn_if_uncommitted(root: Path, spec: Path) -> None:
    try:
        relative = spec.resolve().relative_to(root.resolve())
    except ValueError:
        ui.warn(f"{spec} is outside the repository; the workers read the copy dispatch "
                "keeps in the feature folder (spec.md)")
        return
    if not tree.is_committed(root, relative.as_posix()):
        shown = os.path.relpath(spec, Path.cwd())
        ui.warn(f"{shown} is not committed (or has uncommitted edits): the workers read the "
                "copy dispatch keeps in the feature folder (spec.md); commit the spec to keep "
                "it with your project")
