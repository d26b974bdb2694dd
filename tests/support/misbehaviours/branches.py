"""Misbehaviours with branches and HEAD: a worker that leaves its branch (detached, its own
branch, the base, another workstream's), rewrites or deletes it, or leaves its work staged or
half-merged. `good` is what a well-behaved session does.

Every git call may fail (a worker does not check); the stand-in never raises because of one.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from tests.support.misbehaving_worker import Reply, Worker


def good(w: Worker) -> Reply | None:
    """What a well-behaved session does; on a follow-up it first brings a HEAD that left
    its branch back, as the follow-up prompt asks."""
    back_on_branch(w)
    results = Path(".workstream/RESULTS.md")
    if results.is_symlink():  # it writes its RESULTS.md, not through a link to elsewhere
        results.unlink()
    w.work()
    return None


def back_on_branch(w: Worker) -> None:
    current = (w.git("symbolic-ref", "-q", "HEAD") or "").strip()
    if current == f"refs/heads/{w.branch}":
        return
    old = w.head()
    if w.git("rev-parse", "--verify", "-q", f"refs/heads/{w.branch}") is None:
        w.git("switch", "-q", "-c", w.branch)  # it deleted its branch: make it again here
        return
    if w.git("switch", "-q", w.branch) is not None and old and w.git(
            "merge-base", "--is-ancestor", old, "HEAD") is None:
        if w.git("merge", "-q", "--no-edit", old) is None:
            w.git("merge", "--abort")


def detach_commit(w: Worker) -> Reply | None:
    w.git("checkout", "-q", "--detach")
    w.work()
    return None


def own_branch_commit(w: Worker) -> Reply | None:
    w.git("switch", "-q", "-c", f"worker-{w.ws}-{w.run}")
    w.work()
    return None


def detach_diverge(w: Worker) -> Reply | None:
    """A commit on its branch, then another beside it on a detached HEAD."""
    w.work()
    w.git("checkout", "-q", "--detach", "HEAD~1")
    w.work()
    return None


def reset_branch(w: Worker) -> Reply | None:
    """Commits, then throws its commit away and says it succeeded."""
    w.work()
    w.git("reset", "-q", "--hard", "HEAD~1")
    return None


def rewrite_to_root(w: Worker) -> Reply | None:
    """Rewrites its branch onto the repository's first commit, then works there."""
    root = (w.git("rev-list", "--max-parents=0", "HEAD") or "").split()
    if root:
        w.git("reset", "-q", "--hard", root[-1])
    w.work()
    return None


def amend_history(w: Worker) -> Reply | None:
    w.work()
    w.work()
    w.git("reset", "-q", "--soft", "HEAD~2")
    w.git("commit", "-q", "-m", f"{w.ws}: squashed")
    return None


def unrelated_history(w: Worker) -> Reply | None:
    """Its branch replaced by a history that shares nothing with the base."""
    orphan = f"worker-orphan-{w.ws}-{w.run}"
    w.git("checkout", "-q", "--orphan", orphan)
    w.work()
    w.git("update-ref", f"refs/heads/{w.branch}", "HEAD")
    w.git("checkout", "-q", w.branch)
    w.git("branch", "-q", "-D", orphan)
    return None


def commit_to_base(w: Worker) -> Reply | None:
    """A commit put straight onto the person's main branch (update-ref: git refuses the
    other ways while main is checked out)."""
    w.work()
    tree = (w.git("rev-parse", "HEAD^{tree}") or "").strip()
    sha = (w.git("commit-tree", tree, "-p", "refs/heads/main", "-m", "worker: onto main")
           or "").strip()
    if sha and w.git("update-ref", "refs/heads/main", sha) is not None:
        w.kept["main"] = sha
    return None


def checkout_base(w: Worker) -> Reply | None:
    w.git("checkout", "-q", "--ignore-other-worktrees", "main")
    w.work()
    return None


def delete_branch_detached(w: Worker) -> Reply | None:
    w.work()
    w.git("checkout", "-q", "--detach")
    w.git("branch", "-q", "-D", w.branch)
    return None


def delete_branch_unborn(w: Worker) -> Reply | None:
    """Deletes the branch it has checked out: HEAD names a branch that is gone."""
    w.work()
    w.kept.clear()
    w.git("update-ref", "-d", f"refs/heads/{w.branch}")
    return None


def rename_branch(w: Worker) -> Reply | None:
    w.work()
    w.git("branch", "-m", w.branch, f"worker-renamed-{w.ws}-{w.run}")
    return None


def commit_on_sibling_branch(w: Worker) -> Reply | None:
    """Checks out another workstream's branch (git would refuse without the flag) and
    commits there."""
    sibling = next((ws for ws in ("api", "web", "cli", "docs") if ws != w.ws), "api")
    feature = w.branch.split("/", 1)[0]
    w.git("checkout", "-q", "--ignore-other-worktrees", f"{feature}/{sibling}")
    w.work()
    return None


def stage_only(w: Worker) -> Reply | None:
    """Its work staged, never committed, and RESULTS.md written: it says it is done."""
    (w.home / "work").mkdir(exist_ok=True)
    (w.home / "work" / f"{w.ws}.txt").write_text(f"{w.ws}: staged only\n")
    w.git("add", "-A")
    Path(".workstream/RESULTS.md").write_text(f"# {w.ws}\n\nStaged.\n")
    return None


def merge_in_progress(w: Worker) -> Reply | None:
    """Leaves a conflicted merge in its worktree."""
    w.work()
    side = f"worker-side-{w.ws}-{w.run}"
    w.git("branch", "-q", side, "HEAD~1")
    w.git("switch", "-q", side)
    (w.home / "work" / f"{w.ws}.txt").write_text("the other side\n")
    w.git("add", "-A")
    w.git("commit", "-q", "-m", "side")
    keep_ref(w, f"refs/heads/{side}")
    w.git("switch", "-q", w.branch)
    subprocess.run(["git", "merge", "-q", side], capture_output=True, check=False)
    return None


def squat_integration_branch(w: Worker) -> Reply | None:
    """Makes `<feature>/integration` itself, with a commit of its own, before integrate."""
    w.work()
    feature = w.branch.split("/", 1)[0]
    if w.git("branch", f"{feature}/integration") is not None:
        keep_ref(w, f"refs/heads/{feature}/integration")
    return None


def squat_feature_branch(w: Worker) -> Reply | None:
    """A branch of its own in the feature's namespace."""
    w.work()
    w.git("branch", f"{w.branch}-helper-{w.run}")
    keep_ref(w, f"refs/heads/{w.branch}-helper-{w.run}")
    return None


def keep_ref(w: Worker, ref: str) -> None:
    sha = w.git("rev-parse", "--verify", "-q", ref)
    if sha:
        w.kept[ref] = sha.strip()


BEHAVIOURS: dict[str, Callable[[Worker], Reply | None]] = {
    "good": good,
    "detach_commit": detach_commit,
    "own_branch_commit": own_branch_commit,
    "detach_diverge": detach_diverge,
    "reset_branch": reset_branch,
    "rewrite_to_root": rewrite_to_root,
    "amend_history": amend_history,
    "unrelated_history": unrelated_history,
    "commit_to_base": commit_to_base,
    "checkout_base": checkout_base,
    "delete_branch_detached": delete_branch_detached,
    "delete_branch_unborn": delete_branch_unborn,
    "rename_branch": rename_branch,
    "commit_on_sibling_branch": commit_on_sibling_branch,
    "stage_only": stage_only,
    "merge_in_progress": merge_in_progress,
    "squat_integration_branch": squat_integration_branch,
    "squat_feature_branch": squat_feature_branch,
}
