"""Shell completion of feature and workstream names (bash, zsh, fish: `dispatch
--install-completion`). Completion runs on every Tab: it reads only the folders under
`.worktrees/` and one sessions.json, and never fails loudly."""

from __future__ import annotations

import json
from pathlib import Path

from dispatch.state.paths import WORKTREES, features


def _root() -> Path | None:
    from dispatch.gitops.repository import find_root_or_none

    return find_root_or_none(Path.cwd())


def feature_names(incomplete: str) -> list[str]:
    root = _root()
    return [name for name in features(root) if name.startswith(incomplete)] if root else []


def workstream_names(ctx: object, incomplete: str) -> list[str]:
    """The workstreams of the feature given with -f (or of the only feature there is)."""
    root = _root()
    if root is None:
        return []
    params = getattr(ctx, "params", {}) or {}
    given = params.get("feature")
    known = features(root)
    feature = given if given in known else (known[0] if len(known) == 1 else None)
    if feature is None:
        return []
    try:
        state = json.loads((root / WORKTREES / feature / "sessions.json").read_text())
        names = list(state["workstreams"])
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [name for name in names if name.startswith(incomplete)]
