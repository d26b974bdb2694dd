"""What `dispatch start X` was given: a spec, an existing feature, or a name for a new spec."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dispatch.core import render
from dispatch.core.errors import DispatchError
from dispatch.state import names
from dispatch.state.paths import FeaturePaths
from dispatch.state.store import StateStore

Kind = Literal["spec", "feature", "new"]


@dataclass(frozen=True)
class StartInput:
    kind: Kind
    value: str  # the spec argument, or a feature name


def classify(arg: str, cwd: Path, root: Path) -> StartInput:
    raw = arg.removeprefix("@")
    looks_like_path = arg.startswith("@") or raw.endswith(".md") or "/" in raw
    if looks_like_path or _is(cwd / raw, "file"):
        return StartInput("spec", arg)
    if _is(cwd / raw, "dir"):
        raise DispatchError(f"{raw!r} is a folder; pass a spec file (specs/<name>.md), an "
                            "existing feature, or a new feature name")
    name = names.check_feature_name(raw)
    if StateStore(FeaturePaths(root, name)).exists():
        return StartInput("feature", name)
    return StartInput("new", name)


def _is(path: Path, kind: str) -> bool:
    try:
        return path.is_file() if kind == "file" else path.is_dir()
    except OSError:  # e.g. a name longer than the file system allows: not a file
        return False


def create_spec(root: Path, feature: str) -> Path:
    """specs/<YYYY_MM_DD_HH_MM_SS>_<feature>.md from the skeleton template."""
    folder = root / "specs"
    folder.mkdir(exist_ok=True)
    path = folder / f"{time.strftime('%Y_%m_%d_%H_%M_%S')}_{feature}.md"
    if path.exists():
        raise DispatchError(f"{path} already exists; wait a second and try again")
    title = feature.replace("_", " ").replace("-", " ").capitalize()
    path.write_text(render.render("spec_skeleton.md.j2", root, feature=feature, title=title))
    return path
