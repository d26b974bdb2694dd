"""Commits on the integration branch that dispatch did not make.

dispatch adds only its merges ("Merge <ws> workstream") and the output of `--collect`
("Collect <glob> into <file>") to the integration branch it made. Anything else on its
first-parent line was committed there by someone: a person fixing the build by hand, or a
worker (workers can reach the integration worktree). dispatch merges on top of such commits
as it finds them, so they would reach the result unreviewed: they are named instead, in the
integrate output and in INTEGRATION.md, and left for a person to keep or revert.
"""

from __future__ import annotations

import re
from pathlib import Path

from dispatch.gitops import history, refs
from dispatch.state.model import FeatureState

_OURS = re.compile(r"Merge (?P<name>\S+) workstream|Collect .+ into .+")


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
    made = {record.commit for record in integration.merges.values() if record.commit}
    found = [(commit, subject) for commit, subject in history.first_parent_line(
        root, state.base, head) if commit not in made and not _ours(subject, state)]
    return _without_reverted(found)


def _without_reverted(found: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Leave out a commit and its `git revert` (subject `Revert "<its subject>"`): taken
    out as the report advises, they no longer need a look."""
    kept: list[tuple[str, str]] = []
    for commit, subject in found:
        reverted = next((k for k in reversed(kept) if subject == f'Revert "{k[1]}"'), None)
        if reverted is None:
            kept.append((commit, subject))
        else:
            kept.remove(reverted)
    return kept


def _ours(subject: str, state: FeatureState) -> bool:
    match = _OURS.fullmatch(subject)
    if match is None:
        return False
    name = match["name"]
    return name is None or name in state.workstreams
