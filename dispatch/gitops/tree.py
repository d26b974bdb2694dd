"""A checkout's index and files: what is uncommitted, checking out, resetting, moving forward."""

from __future__ import annotations

from pathlib import Path

from dispatch.gitops.runner import ok, result, run


def parse_status_z(text: str) -> list[str]:
    """Paths from `git status --porcelain -z` (a rename's second field is its old path)."""
    paths: list[str] = []
    fields = iter(text.split("\0"))
    for field in fields:
        if len(field) < 4:
            continue
        paths.append(field[3:])
        if field[0] in "RC":
            next(fields, None)
    return paths


def dirty_paths(worktree: Path) -> list[str]:
    """Uncommitted paths: changed, staged, and untracked files that are not ignored."""
    return parse_status_z(run(["status", "--porcelain", "-z", "--untracked-files=all"], worktree))


def is_checked_out(path: Path) -> bool:
    """A --no-checkout worktree has an empty index; a real checkout has entries."""
    out = result(["ls-files", "-z", "--cached", "--", ":(top)"], path)
    return out.returncode == 0 and bool(out.stdout)


def checkout(path: Path) -> None:
    """Fill a worktree registered with --no-checkout (index and files; safe to run in parallel).

    Only ever called on dispatch's own worktrees that were never checked out, under the
    feature's start lock: an index.lock there is a dead run's (killed mid-checkout)."""
    remove_stale_index_lock(path)
    # Several checkouts already run side by side: git's own lstat threads only add contention.
    run(["-c", "core.preloadIndex=false", "reset", "--hard", "--quiet"], path)


def remove_stale_index_lock(path: Path) -> None:
    """Drop the index.lock a killed git left in one of dispatch's worktrees. Callers hold the
    lock that keeps every other dispatch out, and only call this where no live git can be."""
    stale = path / run(["rev-parse", "--git-path", "index.lock"], path).strip()
    stale.unlink(missing_ok=True)


def reset_hard(path: Path, commit: str | None = None) -> None:
    """Index and files back to `commit` (default: HEAD), moving the checked-out branch."""
    run(["reset", "--hard", "--quiet", *([commit] if commit else [])], path)


def fast_forward(path: Path, commit: str) -> None:
    """Move the branch checked out at `path` forward to `commit` (refuses anything else)."""
    run(["merge", "--ff-only", "--quiet", commit], path)


def is_tracked(root: Path, name: str) -> bool:
    return ok(["ls-files", "--error-unmatch", "--", name], root)


def is_ignored(root: Path, name: str) -> bool:
    return ok(["check-ignore", "-q", "--", name], root)


def skip_worktree(worktree: Path, name: str) -> None:
    """Keep a tracked file's local edits out of this worktree's commits."""
    run(["update-index", "--skip-worktree", "--", name], worktree)


def commit_paths(worktree: Path, names: list[str], message: str,
                 identity: tuple[str, str]) -> bool:
    """Stage `names` and commit them as `identity` (name, email), hooks skipped; False when
    there was nothing new to commit."""
    run(["add", "--", *names], worktree)
    name, email = identity
    return ok(["-c", f"user.name={name}", "-c", f"user.email={email}", "commit", "--quiet",
               "--no-verify", "-m", message], worktree)


def switch(worktree: Path, branch: str) -> None:
    """Check `branch` out at `worktree` (refuses to overwrite uncommitted changes)."""
    run(["switch", "--quiet", "--no-guess", branch], worktree)


def is_committed(root: Path, name: str) -> bool:
    """Whether `name` is tracked and has no uncommitted changes (staged or not)."""
    return is_tracked(root, name) and not run(
        ["status", "--porcelain", "--", name], root).strip()


def tracked_files(cwd: Path, pathspecs: list[str]) -> list[str]:
    """Tracked files matching `pathspecs` (git's: relative to `cwd`, `*` also matches `/`;
    none: every tracked file), as paths from the top of the repository."""
    out = run(["ls-files", "-z", "--full-name", "--", *(pathspecs or [":(top)"])], cwd)
    return sorted({name for name in out.split("\0") if name})
