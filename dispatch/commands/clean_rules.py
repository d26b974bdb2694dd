"""The decisions of `dispatch clean`, as pure functions of what was found: clean_plan.py
gathers the facts (git, the file system, processes) and asks these; each answer is either
what to do with the reason shown for it, or why not. tests/unit/test_clean_parts.py holds
them as tables."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

# Hidden files dispatch writes in the feature folder: locks, atomic-write temp files, and
# the copies `repair` keeps of a damaged sessions.json.
_OWN_HIDDEN = re.compile(r"^\.(?:\w+\.lock|sessions\.json\..*\.tmp)$|^sessions\.json\.damaged-")

Entry = Literal["own", "scratch", "worktree", "archive"]


def feature_entry(name: str, own: set[str], scratch: str, *, is_worktree: bool) -> Entry:
    """What an entry of the feature folder is: dispatch's own (removed with the folder),
    the scratch folder of `integrate --batch`, someone's git worktree (never touched), or
    anything else (not dispatch's: archived and named)."""
    if name == scratch and not is_worktree:
        return "scratch"
    if is_worktree and name not in own:
        return "worktree"
    return "own" if name in own or _OWN_HIDDEN.match(name) else "archive"


@dataclass(frozen=True)
class WorktreeFacts:
    """What git says about one of dispatch's worktrees."""

    locked: bool = False
    unreadable: str | None = None  # git's words when it cannot read the worktree
    dirty: tuple[str, ...] = ()  # uncommitted or untracked paths
    branch: str | None = None  # None: detached
    head: str | None = None
    outside: int = 0  # commits reachable from HEAD in no branch that stays


def why_keep_worktree(facts: WorktreeFacts) -> str | None:
    """Why `git worktree remove` (without force) would refuse, or what it would lose; None
    when the worktree may go."""
    if facts.locked:
        return "it is locked ('git worktree unlock' it first)"
    if facts.unreadable is not None:
        return f"git cannot read it ({facts.unreadable})"
    if facts.dirty:
        return (f"{len(facts.dirty)} uncommitted or untracked file(s) "
                f"({', '.join(facts.dirty[:3])}): commit them")
    if facts.outside and facts.head:
        where = f"its branch {facts.branch}" if facts.branch else \
            f"its detached HEAD {facts.head[:10]}"
        return (f"{where} holds {facts.outside} commit(s) that no branch that stays has; keep "
                f"them on a branch (git branch <name> {facts.head[:10]})")
    return None


def why_remove_worktree(kept_for: str | None, discarded: str | None = None) -> str:
    """The reason shown for removing a worktree: proved safe, a competing team's attempt
    that was not picked (`discarded` says why), or forced past `kept_for`."""
    if kept_for is None and discarded is not None:
        return f"{discarded}; its commits go with it, and nothing is uncommitted or untracked"
    if kept_for is None:
        return ("nothing uncommitted or untracked, and every commit of its HEAD is in a "
                "branch that stays")
    return f"--force (without it, kept: {kept_for})"


def deletable_branches(candidates: list[str], outside: Callable[[str, list[str]], int]
                       ) -> tuple[list[str], dict[str, int]]:
    """(branches to delete, branch kept -> commits it alone holds). `outside(branch, going)`
    counts the branch's commits in no branch but those of `going`. One branch is kept at a
    time, the one holding most: a branch that stays can be what holds another one's commits,
    which then may go (two branches with the same commits: one stays, not both)."""
    going, kept = sorted(candidates), dict[str, int]()
    while True:
        lost = {b: n for b in going if (n := outside(b, going))}
        if not lost:
            return going, kept
        branch = min(lost, key=lambda b: (-lost[b], b))
        kept[branch] = lost[branch]
        going.remove(branch)


BRANCH_GOES = "dispatch made it, and every commit on it is in a branch that stays"

Scratch = Literal["remove", "keep", "archive"]


def scratch_entry(*, is_worktree: bool, branch: str | None, locked: bool
                  ) -> tuple[Scratch, str]:
    """An entry of `.verify/`: integrate --batch's scratch checkouts are detached worktrees
    of merges it verified, nobody's work — removed with force. Anything else there is not
    dispatch's: a worktree on a branch stays, other files are archived."""
    if not is_worktree:
        return "archive", "not a worktree of integrate --batch"
    if branch is not None:
        return "keep", (f"it is on branch {branch}, and integrate --batch's scratch "
                        "worktrees are detached; remove it yourself")
    if locked:
        return "keep", "it is locked ('git worktree unlock' it first)"
    return "remove", "integrate --batch's scratch checkout (detached, nobody's work)"


def why_busy(feature: str, supervisor: int | None, landing: int | None) -> str | None:
    """Clean waits for what could still change the feature's worktrees and branches."""
    if supervisor is not None:
        return (f"feature '{feature}' is running (its supervisor is pid {supervisor}); "
                f"stop it with 'dispatch stop --feature {feature}', then clean again (nothing was "
                "changed)")
    if landing is not None:
        return (f"feature '{feature}' is landing work in its integration branch (pid "
                f"{landing}); wait for it to finish (see 'dispatch status'), then clean "
                "again (nothing was changed)")
    return None
