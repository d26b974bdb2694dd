"""The done check: a session that ended in success counts as done only if its work is there.

Done means: commits of its own on its branch (the branch ref, not whatever the worktree's
HEAD is), no conflict markers committed, nothing left uncommitted, RESULTS.md written, and
the verify command (when one is configured) passing in its worktree. Uncommitted changes do
not count: integration merges branches, so uncommitted work would be lost.

Workers run git themselves and may leave the branch (a detached HEAD, a branch of their own).
When their commits simply continue the branch and nothing is uncommitted, the branch is moved
forward to them and checked out again, and a note says so; otherwise the check says what is
wrong, so that nothing they committed is counted as missing or silently lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dispatch.gitops import history, refs, tree
from dispatch.workspace import workfiles
from dispatch.workspace.verify import run_verify


@dataclass
class Check:
    commits: int
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the check did (a branch it moved)
    tip: str | None = None  # the branch's commit when it was checked

    @property
    def done(self) -> bool:
        return not self.missing


@dataclass(frozen=True)
class Verify:
    command: str | None
    env: dict[str, str]
    log: Path
    log_name: str


def check(worktree: Path, branch: str, not_in: list[str], verify: Verify) -> Check:
    """`not_in`: the base and the dependency branches (their commits are not this work)."""
    result = Check(0)
    on_branch = _back_on_branch(worktree, branch, result)
    result.tip = refs.branch_commit(worktree, branch)
    if result.tip is None:
        result.missing.append(f"its branch {branch} is gone: create it again at your commits "
                              f"(git branch {branch} <commit>) and check it out")
        return result
    result.commits = refs.count_own_commits(worktree, result.tip, not_in)
    if result.commits == 0:
        result.missing.append(f"no commits on the branch {branch}: commit your work there")
    marked = history.conflict_markers(worktree, not_in[0], result.tip) if not_in else []
    if marked:
        result.missing.append(f"conflict markers are committed in {', '.join(marked[:5])}: "
                              "resolve them and commit")
    dirty = [p for p in tree.dirty_paths(worktree) if not p.startswith(workfiles.WORK_DIR + "/")]
    if dirty:
        result.missing.append(f"{len(dirty)} uncommitted file(s) ({', '.join(dirty[:5])}): "
                              "commit them")
    if workfiles.read_results(worktree) is None:
        result.missing.append(f"no {workfiles.RESULTS}: write it")
    if verify.command and on_branch and not result.missing and not run_verify(
            verify.command, worktree, verify.env, verify.log):
        result.missing.append(f"the verify command `{verify.command}` fails (see "
                              f"{verify.log_name}): fix it")
    return result


def _back_on_branch(worktree: Path, branch: str, result: Check) -> bool:
    """Whether the worktree has `branch` checked out (after bringing it back if it can)."""
    current = refs.current_branch(worktree)
    if current == branch:
        return True
    head = refs.commit_of(worktree, "HEAD")
    tip = refs.branch_commit(worktree, branch)
    where = f"on the branch {current}" if current else f"on a detached HEAD ({(head or '')[:10]})"
    movable = head is not None and tip is not None and refs.is_ancestor(worktree, tip, head)
    if movable and not tree.dirty_paths(worktree):
        assert head is not None and tip is not None
        if head != tip:
            refs.move_branch(worktree, branch, head, tip)
        tree.switch(worktree, branch)
        result.notes.append(f"its commits were {where}, not on {branch}: {branch} was moved "
                            f"forward to {head[:10]} and checked out again")
        return True
    result.missing.append(f"the worktree is {where}, not on its branch {branch}: check out "
                          f"{branch} and bring your commits onto it (git switch {branch}, "
                          "then git merge or cherry-pick them)")
    return False
