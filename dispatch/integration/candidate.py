"""What of a workstream's branch may be merged: untrusted commits made mergeable or refused.

A worker commits whatever it likes. Before a branch is merged (or its conflicts predicted):
- its working files never travel: a `.workstream/` folder it force-added is put back to what
  the base has there, in a commit on top of its tip (dated like the tip, so the same branch
  always gives the same commit);
- a branch with no history in common with the base is refused, as that branch's problem;
- a branch with no commits of its own (deleted and made again at the base?) is refused
  instead of being reported as "already merged".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dispatch.gitops import history, merges, refs
from dispatch.workspace.workfiles import WORK_DIR

DROP_MESSAGE = (f"dispatch: leave out the working files ({WORK_DIR}/) the worker committed\n\n"
                "They belong to the workstream's worktree, never to the integration branch.")


@dataclass(frozen=True)
class Candidate:
    tip: str  # the branch as the worker left it
    merge_tip: str  # what is merged: the tip, or a commit on top without its working files
    problem: str | None = None  # why it cannot be merged at all


def prepare(root: Path, base: str, tip: str) -> Candidate:
    if merges.merge_base(root, base, tip) is None:
        return Candidate(tip, tip, "its branch has no history in common with the base (was "
                         "it made from another repository or an orphan branch?)")
    if refs.is_ancestor(root, tip, base):
        return Candidate(tip, tip, "its branch holds no commits of its own (was it deleted "
                         "and made again at the base?)")
    return Candidate(tip, _without_working_files(root, base, tip))


def _without_working_files(root: Path, base: str, tip: str) -> str:
    theirs = history.top_level_entry(root, tip, WORK_DIR)
    ours = history.top_level_entry(root, base, WORK_DIR)
    if theirs == ours:
        return tip
    return history.replace_top_level_entry(root, tip, WORK_DIR, ours, DROP_MESSAGE)
