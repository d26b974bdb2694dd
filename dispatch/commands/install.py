"""`dispatch install-commands`: the Claude Code slash commands, copied where Claude finds them.

`.claude/commands/project/dispatch.md` is invoked as `/project:dispatch`; its companions as
`/project:dispatch-status`, `-resume`, `-integrate` and `-clean`. A file that differs from
ours (the user edited it) is never overwritten without --force.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from dispatch import resources
from dispatch.core.errors import DispatchError


def source() -> Path:
    """The command files shipped in the package (dispatch/resources/commands/)."""
    return resources.slash_commands()


@dataclass(frozen=True)
class Step:
    target: Path
    action: str  # "create", "update" (with --force), "unchanged"


def plan(destination: Path, force: bool) -> list[Step]:
    steps, changed = [], []
    for file in sorted(source().rglob("*.md")):
        target = destination / file.relative_to(source())
        if not target.exists():
            steps.append(Step(target, "create"))
        elif target.read_bytes() == file.read_bytes():
            steps.append(Step(target, "unchanged"))
        elif force:
            steps.append(Step(target, "update"))
        else:
            changed.append(target)
    if changed:
        raise DispatchError(f"{', '.join(str(p) for p in changed)} differ from dispatch's "
                            "commands (edited?); pass --force to overwrite them")
    return steps


def install(destination: Path, force: bool) -> list[Step]:
    steps = plan(destination, force)
    for step in steps:
        if step.action != "unchanged":
            step.target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source() / step.target.relative_to(destination), step.target)
    return steps


def look_alikes(destinations: list[Path]) -> list[str]:
    """Other command files Claude Code would list as /dispatch or /project:dispatch (in this
    repository or the user's ~/.claude/commands) that are not dispatch's own: the user
    could run one thinking it is the other."""
    ours = (source() / "project" / "dispatch.md").read_bytes()
    found = []
    for folder in destinations:
        for relative, shown in (("dispatch.md", "/dispatch"),
                                ("project/dispatch.md", "/project:dispatch")):
            path = folder / relative
            if path.is_file() and path.read_bytes() != ours:
                found.append(f"{path} is a different command that Claude Code lists as "
                             f"{shown}; rename or remove it if it is not what you want")
    return found
