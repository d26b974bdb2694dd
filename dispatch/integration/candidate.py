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


# One integrate asks this of every branch twice (the conflict prediction and the merge run
# side by side). Commits never change, so an answer for two commit ids holds for the life of
# the process. Only the plain answer is kept: not a commit made here (nothing references it,
# and a long-lived supervisor must not hand out a commit that gc may have pruned), and not a
# refusal (git's "no common ancestor" and "cannot read that object yet" look alike).
_known: dict[tuple[str, str, str], Candidate] = {}


def prepare(root: Path, base: str, tip: str) -> Candidate:
    key = (str(root), base, tip)
    found = _known.get(key)
    if found is None:
        found = _prepare(root, base, tip)
        if found == Candidate(tip, tip) and _is_commit_id(base) and _is_commit_id(tip):
            _known[key] = found
    return found


def _prepare(root: Path, base: str, tip: str) -> Candidate:
    common = merges.merge_base(root, base, tip)
    if common is None:
        return Candidate(tip, tip, "its branch has no history in common with the base (was "
                         "it made from another repository or an orphan branch?)")
    # The best common ancestor is the tip itself exactly when the tip is in the base.
    if common == tip if _is_commit_id(tip) else refs.is_ancestor(root, tip, base):
        return Candidate(tip, tip, "its branch holds no commits of its own (was it deleted "
                         "and made again at the base?)")
    return Candidate(tip, _without_working_files(root, base, tip))


def _is_commit_id(name: str) -> bool:
    return len(name) in (40, 64) and all(c in "0123456789abcdef" for c in name)


def _without_working_files(root: Path, base: str, tip: str) -> str:
    if history.same_top_level_entry(root, base, tip, WORK_DIR):
        return tip
    ours = history.top_level_entry(root, base, WORK_DIR)
    return history.replace_top_level_entry(root, tip, WORK_DIR, ours, DROP_MESSAGE)
