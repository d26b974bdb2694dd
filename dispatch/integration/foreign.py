"""Commits on the integration branch that dispatch did not make.

dispatch adds only its merges and the output of `--collect` to the integration branch it
made. Anything else on its first-parent line was committed there by someone: a person fixing
the build by hand, or a worker (workers can reach the integration worktree). dispatch merges
on top of such commits as it finds them, so they would reach the result unreviewed: they are
named instead, in the integrate output and in INTEGRATION.md, and left for a person to keep or
revert.

A commit is dispatch's by what it is, not by what it says: a merge recorded as made by
dispatch; or a merge whose subject is dispatch's ("Merge <ws> workstream") and whose tree is
exactly the merge of its two parents (an amended merge that also fixed something is not);
or a "Collect <glob> into <file>" commit that changes that file only. A commit and the
`git revert` of it (its body names the commit, and it changes the same files) cancel.
"""

from __future__ import annotations

import re
from pathlib import Path

from dispatch.gitops import history, merges, refs
from dispatch.state.model import FeatureState

MERGE_SUBJECT = re.compile(r"Merge (\S+) workstream")  # dispatch's merge commits
_COLLECT = re.compile(r"Collect .+ into (?P<into>.+)")
_REVERTS = re.compile(r"This reverts commit (?P<sha>[0-9a-f]{40,64})\b")


def commits(root: Path, state: FeatureState) -> list[tuple[str, str]]:
    """(commit, subject) of each commit on the integration branch's first-parent line
    since the base that dispatch did not make, oldest first. None for a branch dispatch
    took over (`--force`): what was on it is its owner's."""
    integration = state.integration
    if integration is None or not integration.created_branch:
        return []
    head = refs.branch_commit(root, integration.branch)
    if head is None:
        return []
    made = {record.commit for record in integration.merges.values()
            if record.status == "merged" and record.reason is None and record.commit}
    line = history.first_parent_log(root, state.base, head)
    strangers = [c for c in line if c.sha not in made and not _dispatchs(root, c)]
    return [(c.sha, c.subject) for c in _without_reverted(root, strangers)]


def _dispatchs(root: Path, commit: history.LineCommit) -> bool:
    if len(commit.parents) == 2 and MERGE_SUBJECT.fullmatch(commit.subject):
        return merges.merge_tree(root, *commit.parents)[0] == commit.tree
    match = _COLLECT.fullmatch(commit.subject)
    if len(commit.parents) == 1 and match:
        return history.changed_paths(root, commit.parents[0], commit.sha) == [match["into"]]
    return False


def _without_reverted(root: Path, found: list[history.LineCommit]) -> list[history.LineCommit]:
    """Leave out a commit and its revert: taken out as the report advises, they need no
    look."""
    kept = {c.sha: c for c in found}
    for commit in found:
        match = _REVERTS.search(commit.body)
        reverted = kept.get(match["sha"]) if match and len(commit.parents) == 1 else None
        if reverted is not None and commit.sha in kept and len(reverted.parents) == 1 and \
                history.changed_paths(root, commit.parents[0], commit.sha) == \
                history.changed_paths(root, reverted.parents[0], reverted.sha):
            del kept[reverted.sha], kept[commit.sha]
    return [c for c in found if c.sha in kept]
