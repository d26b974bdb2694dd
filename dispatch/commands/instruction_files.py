"""`dispatch start a.md b.md ...`: instruction files as workers, one workstream per file.

Each file becomes a workstream named after it (`worker1_instructions.md` -> `worker1`) whose
task is the file's whole text; from there everything (worktrees, the cap on sessions at
once, logs, status, integrate) is what a spec gets. A file that holds a Workstreams section
is a spec, not a worker's instructions: it is refused with what to do instead.

The feature is `--feature`, else the common start of the file names (`worker1.md`,
`worker2.md` -> `worker`), else the name of the folder that holds them all.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from dispatch.core.errors import DispatchError
from dispatch.core.text import shown, visible_line
from dispatch.spec.blocks import parse_blocks
from dispatch.spec.headings import select
from dispatch.spec.source import MAX_SPEC_BYTES, resolve_spec_path
from dispatch.state import names
from dispatch.state.plan import Plan, Workstream

# What instruction files are often called after their worker's name: not part of the name.
_SUFFIX = re.compile(r"[-_. ]*(?:instructions?|prompt|brief|tasks?)$", re.IGNORECASE)
_TRAILING = re.compile(r"[-_. 0-9]+$")
GOAL_LIMIT = 120


@dataclass(frozen=True)
class InstructionFile:
    path: Path
    text: str
    name: str


def plan_of(targets: list[str], cwd: Path, root: Path,
            feature: str | None) -> tuple[Plan, str]:
    """The plan of one workstream per file, and the text kept as the feature's spec.md."""
    paths = [resolve_spec_path(t, cwd, root) for t in targets]
    if len(set(paths)) < len(paths):
        raise DispatchError("the same instruction file is given twice: pass each once")
    files = [InstructionFile(p, _read(p, cwd), _workstream_name(p)) for p in paths]
    _check_names(files, cwd)
    for f in files:
        _refuse_a_spec(f, cwd)
    chosen = names.check_feature_name(feature) if feature else _feature(paths)
    workstreams = [Workstream(name=f.name, title=f.path.name, number=n, goal=_goal(f),
                              tasks=[f.text.strip()], line=1, raw=f.text.strip())
                   for n, f in enumerate(files, start=1)]
    plan = Plan(feature=chosen, title=f"{chosen}: {len(files)} instruction files",
                spec=str(paths[0]), workstreams=workstreams)
    return plan, _snapshot(chosen, files, root)


def _read(path: Path, cwd: Path) -> str:
    where = os.path.relpath(path, cwd)
    try:
        data = path.read_bytes()[: MAX_SPEC_BYTES + 1]
    except OSError as exc:
        raise DispatchError(f"{where}: cannot read it ({exc.strerror})") from None
    if len(data) > MAX_SPEC_BYTES or b"\x00" in data:
        raise DispatchError(f"{where}: not an instruction file (binary, or over "
                            f"{MAX_SPEC_BYTES >> 20} MB)")
    text = data.decode("utf-8-sig", errors="replace").replace("\r\n", "\n")
    if not text.strip():
        raise DispatchError(f"{where} is empty: write the worker's instructions in it")
    return text


def _workstream_name(path: Path) -> str:
    stem = names.feature_from_filename(path.stem)  # without a date prefix, lower-case
    name = names.slugify_workstream(_SUFFIX.sub("", stem) or stem)
    return f"{name}-ws" if name in names.RESERVED_WORKSTREAMS else name


def _check_names(files: list[InstructionFile], cwd: Path) -> None:
    seen: dict[str, Path] = {}
    for f in files:
        where = os.path.relpath(f.path, cwd)
        if not f.name:
            raise DispatchError(f"{where}: its name makes no workstream name (letters a-z and "
                                "digits): rename it, e.g. worker1.md")
        if f.name in seen:
            raise DispatchError(f"{os.path.relpath(seen[f.name], cwd)} and {where} both make "
                                f"workstream '{f.name}': rename one of them")
        seen[f.name] = f.path


def _refuse_a_spec(f: InstructionFile, cwd: Path) -> None:
    if select(parse_blocks(f.text), f.text.split("\n")).container is not None:
        where = os.path.relpath(f.path, cwd)
        raise DispatchError(f"{where} has a Workstreams section: it is a spec, not one "
                            f"worker's instructions; start it alone (dispatch start {where}), "
                            "or pass only instruction files")


def _feature(paths: list[Path]) -> str:
    prefix = _TRAILING.sub("", _common_start([p.stem.lower() for p in paths]))
    feature = names.feature_from_filename(prefix)
    if len(feature) >= 2 and feature not in names.RESERVED_FEATURES:
        return feature
    folders = {p.parent for p in paths}
    if len(folders) == 1:
        feature = names.feature_from_filename(next(iter(folders)).name)
        if feature and feature not in names.RESERVED_FEATURES:
            return feature
    raise DispatchError("the instruction files share no name prefix and no folder to name "
                        "the feature after: pass --feature NAME")


def _common_start(words: list[str]) -> str:
    """The characters every word starts with (file names, not paths)."""
    first, last = min(words), max(words)
    size = next((i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b),
                min(len(first), len(last)))
    return first[:size]


def _goal(f: InstructionFile) -> str:
    first = next((line for line in f.text.splitlines() if line.strip()), f.path.name)
    goal = visible_line(first.lstrip("#").strip()) or f.path.name
    return goal if len(goal) <= GOAL_LIMIT else goal[: GOAL_LIMIT - 3].rstrip() + "..."


def _snapshot(feature: str, files: list[InstructionFile], root: Path) -> str:
    parts = [f"# {feature}: instruction files as workers\n"]
    for f in files:
        where = os.path.relpath(f.path, root)
        parts.append(f"## Worker `{f.name}`: {shown(where, 200)}\n\n{f.text.strip()}\n")
    return "\n".join(parts)
