"""The done check: a session that ended in success counts as done only if its work is there.

Done means: commits of its own on its branch, nothing left uncommitted, RESULTS.md written,
and the verify command (when one is configured) passing in its worktree. Uncommitted
changes do not count: integration merges branches, so uncommitted work would be lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dispatch.gitops import refs, tree
from dispatch.workspace import workfiles
from dispatch.workspace.verify import run_verify


@dataclass
class Check:
    commits: int
    missing: list[str] = field(default_factory=list)

    @property
    def done(self) -> bool:
        return not self.missing


def check(worktree: Path, not_in: list[str], verify: str | None, env: dict[str, str],
          verify_log: Path, log_name: str) -> Check:
    """`not_in`: the base and the dependency branches (their commits are not this work)."""
    commits = refs.count_commits_not_in(worktree, "HEAD", not_in)
    result = Check(commits)
    if commits == 0:
        result.missing.append("no commits on the branch: commit your work")
    dirty = [p for p in tree.dirty_paths(worktree) if not p.startswith(workfiles.WORK_DIR + "/")]
    if dirty:
        result.missing.append(f"{len(dirty)} uncommitted file(s) ({', '.join(dirty[:5])}): "
                              "commit them")
    if workfiles.read_results(worktree) is None:
        result.missing.append(f"no {workfiles.RESULTS}: write it")
    if verify and not result.missing and not run_verify(verify, worktree, env, verify_log):
        result.missing.append(f"the verify command `{verify}` fails (see {log_name}): fix it")
    return result
