"""What a repository can still reach: every ref (branches, tags, stash, remotes), every
worktree's HEAD and every stash entry. Used by the misbehaving-worker campaign on both sides:
the test records tips after each dispatch command, the stand-in worker as it exits.

Nothing here raises on a broken repository (workers break them on purpose): a git command
that fails yields nothing, and the caller reports what it could not see.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

_PEELED = "%(objectname) %(*objectname) %(objecttype) %(refname)"


def git_out(cwd: Path, *args: str, stdin: str | None = None) -> str | None:
    """git's stdout, or None when it failed (or cannot even start there)."""
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              input=stdin, check=False, errors="surrogateescape")
    except OSError:
        return None
    return proc.stdout if proc.returncode == 0 else None


def tips(repo: Path) -> dict[str, str]:
    """label -> commit, for everything that keeps commits alive."""
    found: dict[str, str] = {}
    for line in (git_out(repo, "for-each-ref", f"--format={_PEELED}") or "").splitlines():
        sha, peeled, kind, ref = line.split(" ", 3)
        if kind == "commit" or peeled:
            found[ref] = peeled or sha
    found.update(worktree_heads(repo))
    for index, sha in enumerate(stash_entries(repo)):
        found[f"stash@{{{index}}}"] = sha
    return found


def worktree_heads(repo: Path) -> dict[str, str]:
    heads: dict[str, str] = {}
    path = ""
    for line in (git_out(repo, "worktree", "list", "--porcelain") or "").splitlines():
        if line.startswith("worktree "):
            path = line.removeprefix("worktree ")
        elif line.startswith("HEAD ") and set(line[5:]) != {"0"}:
            heads[f"HEAD of {path}"] = line[5:]
    return heads


def stash_entries(repo: Path) -> list[str]:
    return (git_out(repo, "log", "-g", "--format=%H", "refs/stash", "--") or "").split()


def reachable(repo: Path) -> set[str] | None:
    """Every commit reachable from a ref or a worktree HEAD, plus the stash entries (kept
    alive by the stash's reflog); None when git cannot say."""
    heads = "\n".join(worktree_heads(repo).values()) + "\n"
    listed = git_out(repo, "rev-list", "--all", "--ignore-missing", "--stdin", stdin=heads)
    if listed is None:
        return None
    return set(listed.split()) | set(stash_entries(repo))


def lost(repo: Path, recorded: dict[str, str]) -> dict[str, str]:
    """The recorded labels whose commit nothing reaches any more (all of them, with a note,
    when git cannot list what is reachable)."""
    alive = reachable(repo)
    if alive is None:
        return {"(git rev-list --all failed)": "cannot tell what is reachable"}
    return {label: sha for label, sha in recorded.items() if sha not in alive}
