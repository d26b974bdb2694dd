"""What `dispatch start X` was given: a spec, an existing feature, or a name for a new spec."""

from __future__ import annotations

import os
import re
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dispatch.core import render
from dispatch.core.errors import DispatchError
from dispatch.state import names
from dispatch.state.paths import FeaturePaths, features
from dispatch.state.store import StateStore

Kind = Literal["spec", "feature", "new"]
_TIMESTAMP = re.compile(r"^\d{4}(_\d{2}){5}_")  # the skeleton's specs/<time>_<name>.md


@dataclass(frozen=True)
class StartInput:
    kind: Kind
    value: str  # the spec argument, or a feature name


def classify(arg: str, cwd: Path, root: Path, *, new: bool = False) -> StartInput:
    """`new`: the person means a new feature even if its name is close to one there is."""
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
    if not new:
        _expect_no_near_miss(name, cwd, root)
    return StartInput("new", name)


def _expect_no_near_miss(name: str, cwd: Path, root: Path) -> None:
    """A mistyped feature or spec name would become a new spec skeleton: refused when the
    name is close to a feature or a spec that is there."""
    import difflib

    known = {feature: f"dispatch start {shlex.quote(feature)}" for feature in features(root)
             if StateStore(FeaturePaths(root, feature)).exists()}
    for folder in dict.fromkeys([cwd, cwd / "specs", root / "specs"]):
        for spec in sorted(folder.glob("*.md")) if folder.is_dir() else []:
            relative = os.path.relpath(spec, cwd)
            relative = f"./{relative}" if relative.startswith("-") else relative
            shown = f"dispatch start {shlex.quote(relative)}"
            for stem in {spec.stem, _TIMESTAMP.sub("", spec.stem)}:
                known.setdefault(stem, shown)
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.75)
    if close:
        meant = " or ".join(dict.fromkeys(f"`{known[c]}`" for c in close))
        raise DispatchError(f"'{name}' is neither a spec file nor a feature; did you mean "
                            f"{meant}? To create a spec skeleton for a new feature '{name}', "
                            f"run: `dispatch start {name} --new`")


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
