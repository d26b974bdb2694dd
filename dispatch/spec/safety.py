"""What a spec may not ask for without being seen: paths outside the worktree, and
permissions that let its workers run anything without asking.

A spec is untrusted text (someone else's PRD, a file Claude wrote). Owned files are where
the workers (and the rehearsal worker) write: each must be a relative path inside the
worktree. `permission_mode: bypassPermissions` set by a spec is shown by `plan` and needs
`--allow-bypass` on the command line before `start` runs anything."""

from __future__ import annotations

from pathlib import PurePosixPath

from dispatch.core.errors import SpecError
from dispatch.state.plan import Plan

DANGEROUS_MODES = frozenset({"bypassPermissions"})


def check_owned_path(path: str, shown: str, line: int, workstream: str) -> None:
    """Raise unless `path` (a file, folder or glob a workstream owns) stays in the worktree."""
    parts = PurePosixPath(path).parts
    problem = None
    if path.startswith(("/", "~", "\\")) or (len(path) > 1 and path[1] == ":"):
        problem = "is an absolute path"
    elif ".." in parts:
        problem = "climbs out with '..'"
    elif any(ord(ch) < 32 for ch in path):
        problem = "holds control characters"
    if problem:
        raise SpecError(shown, line, f"workstream '{workstream}' owns {path!r}, which "
                        f"{problem}; owned files are paths inside the repository, such as "
                        "`app/cli/main.py` or `docs/**`")


def dangerous_modes(plan: Plan, command_line: str | None = None) -> dict[str, str]:
    """{'the spec' or a workstream: the dangerous permission mode the spec sets for it};
    a mode given on the command line wins over the spec's, so then there is none."""
    if command_line is not None:
        return {}
    found: dict[str, str] = {}
    if plan.agent.permission_mode in DANGEROUS_MODES:
        found["the spec"] = plan.agent.permission_mode
    for ws in plan.workstreams:
        if ws.agent.permission_mode in DANGEROUS_MODES:
            found[f"workstream {ws.name}"] = ws.agent.permission_mode
    return found


def warnings(plan: Plan) -> list[str]:
    return [f"{who} sets permission_mode {mode}: its workers may run any command without "
            "asking; 'dispatch start' needs --allow-bypass to run it"
            for who, mode in dangerous_modes(plan).items()]
