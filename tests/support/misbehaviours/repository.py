"""Misbehaviours with the repository: a replaced .git, tags and stashes, worktrees of its own
(inside the feature folder, beside it, outside the repository), a submodule, a nested
repository, settings and hooks every worktree shares, git's own files removed or left behind.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from tests.support.misbehaving_worker import Reply, Worker
from tests.support.misbehaviours.branches import keep_ref


def replace_git_garbage(w: Worker) -> Reply | None:
    w.work()
    Path(".git").unlink()
    Path(".git").write_text("gitdir: /nonexistent\n")
    return None


def replace_git_repo(w: Worker) -> Reply | None:
    """Its worktree turned into a repository of its own, with work committed only there."""
    w.work()
    Path(".git").unlink()
    w.git("init", "-q")
    w.wrote(w.home / "nested-work.txt", f"{w.ws}: only in my own repository\n")
    w.git("add", "-A")
    w.git("commit", "-q", "-m", "my own repository")
    return None


def create_tags(w: Worker) -> Reply | None:
    """A tag on its work, and an annotated tag on a commit nothing else holds."""
    w.work()
    w.git("tag", f"w-{w.ws}-{w.run}")
    tree = (w.git("rev-parse", "HEAD^{tree}") or "").strip()
    side = (w.git("commit-tree", tree, "-p", "HEAD", "-m", "only a tag holds this") or "").strip()
    if side and w.git("tag", "-a", "-m", "side", f"w-{w.ws}-side-{w.run}", side) is not None:
        w.kept["side tag"] = side
    return None


def stash(w: Worker) -> Reply | None:
    w.work()
    (w.home / "work" / f"{w.ws}-half-done.txt").write_text(f"{w.ws} half done\n")
    w.git("stash", "push", "-q", "-u", "-m", f"{w.ws}: half done")
    keep_ref(w, "refs/stash")
    return None


def stash_everything(w: Worker) -> Reply | None:
    """All its work in a stash, nothing committed."""
    (w.home / "work").mkdir(exist_ok=True)
    (w.home / "work" / f"{w.ws}.txt").write_text(f"{w.ws}: stashed\n")
    w.git("stash", "push", "-q", "-u", "-m", f"{w.ws}: everything")
    keep_ref(w, "refs/stash")
    Path(".workstream/RESULTS.md").write_text(f"# {w.ws}\n\nIt is in the stash.\n")
    return None


def _worktree_with_work(w: Worker, path: Path, *args: str) -> None:
    if w.git("worktree", "add", "-q", *args, str(path)) is None:
        return
    w.wrote(path / "extra.txt", f"{w.ws}: work in a worktree of my own\n")
    w.git("add", "extra.txt", cwd=path)
    w.git("commit", "-q", "-m", f"{w.ws}: extra", cwd=path)
    w.keep(f"HEAD of {path}", cwd=path)


def worktree_inside(w: Worker) -> Reply | None:
    w.work()
    _worktree_with_work(w, w.feature_dir / f"{w.ws}-extra-{w.run}", "-b",
                        f"worker-{w.ws}-extra-{w.run}")
    return None


def worktree_outside(w: Worker) -> Reply | None:
    """A detached worktree outside the repository: only its HEAD holds its commit."""
    w.work()
    _worktree_with_work(w, w.outside / f"wt-{w.ws}-{w.run}", "--detach")
    return None


def worktree_in_worktrees_root(w: Worker) -> Reply | None:
    """.worktrees/<name>: where dispatch keeps features, yet not one."""
    w.work()
    _worktree_with_work(w, w.root / ".worktrees" / f"{w.ws}-own-{w.run}", "-b",
                        f"worker-{w.ws}-own-{w.run}")
    return None


def gc_prune(w: Worker) -> Reply | None:
    w.work()
    w.git("reflog", "expire", "--expire=now", "--all")
    w.git("gc", "-q", "--prune=now")
    return None


def lock_worktree(w: Worker) -> Reply | None:
    w.work()
    w.git("worktree", "lock", "--reason", "the worker locked it", str(w.home))
    return None


def nested_repo(w: Worker) -> Reply | None:
    """An untracked repository inside its worktree, with commits of its own."""
    w.work()
    nested = w.home / "vendor-nested"
    nested.mkdir(exist_ok=True)
    w.git("init", "-q", cwd=nested)
    w.wrote(nested / "lib.txt", f"{w.ws}: vendored by hand\n")
    w.git("add", "-A", cwd=nested)
    w.git("commit", "-q", "-m", "nested", cwd=nested)
    return None


def delete_own_worktree(w: Worker) -> Reply | None:
    w.work()
    shutil.rmtree(w.home, ignore_errors=True)
    return None


def config_tamper(w: Worker) -> Reply | None:
    """Repository settings every worktree shares: signing without a key, fast-forward only."""
    w.work()
    for key, value in (("commit.gpgsign", "true"), ("user.signingkey", "0xDEADBEEF"),
                       ("merge.ff", "only"), ("pull.rebase", "true")):
        w.git("config", key, value)
    return None


def hooks_tamper(w: Worker) -> Reply | None:
    """Hooks for the whole repository that fail every checkout and commit."""
    w.work()
    hooks = w.outside / f"hooks-{w.ws}-{w.run}"
    hooks.mkdir(parents=True, exist_ok=True)
    for hook in ("post-checkout", "pre-commit", "pre-merge-commit", "post-merge"):
        (hooks / hook).write_text("#!/bin/sh\necho 'hook says no' >&2\nexit 1\n")
        (hooks / hook).chmod(0o755)
    w.git("config", "core.hooksPath", str(hooks))
    return None


def add_submodule(w: Worker) -> Reply | None:
    """A submodule (a repository of its own, outside) added and committed."""
    sub = w.outside / f"sub-{w.ws}-{w.run}"
    sub.mkdir(parents=True, exist_ok=True)
    w.git("init", "-q", cwd=sub)
    (sub / "lib.txt").write_text("a library\n")
    w.git("add", "-A", cwd=sub)
    w.git("commit", "-q", "-m", "library", cwd=sub)
    w.git("-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub),
          f"vendor/sub-{w.ws}")
    w.git("commit", "-q", "-m", f"{w.ws}: a submodule")
    w.work()
    return None


def delete_worktree_admin(w: Worker) -> Reply | None:
    """Removes its worktree's folder in .git/worktrees/: git no longer knows the worktree."""
    w.work()
    admin = (w.git("rev-parse", "--absolute-git-dir") or "").strip()
    if "/worktrees/" in admin:
        shutil.rmtree(admin, ignore_errors=True)
    return None


def stale_index_lock(w: Worker) -> Reply | None:
    """Leaves an index.lock behind, as a git killed in the middle of a commit does."""
    w.work()
    git_dir = (w.git("rev-parse", "--absolute-git-dir") or "").strip()
    if git_dir:
        (Path(git_dir) / "index.lock").write_text("")
    return None


def clobber_info_exclude(w: Worker) -> Reply | None:
    """Rewrites the repository's .git/info/exclude (shared by every worktree) as its own."""
    w.work()
    common = (w.git("rev-parse", "--path-format=absolute", "--git-common-dir") or "").strip()
    if common:
        (Path(common) / "info" / "exclude").write_text("*.log\n")
    return None


def break_repo_config(w: Worker) -> Reply | None:
    """A syntax error in the repository's .git/config: every git command fails after it."""
    w.work()
    common = (w.git("rev-parse", "--path-format=absolute", "--git-common-dir") or "").strip()
    if common:
        with (Path(common) / "config").open("a") as config:
            config.write("[broken\n")
    return None


BEHAVIOURS: dict[str, Callable[[Worker], Reply | None]] = {
    "replace_git_garbage": replace_git_garbage,
    "replace_git_repo": replace_git_repo,
    "create_tags": create_tags,
    "stash": stash,
    "stash_everything": stash_everything,
    "worktree_inside": worktree_inside,
    "worktree_outside": worktree_outside,
    "worktree_in_worktrees_root": worktree_in_worktrees_root,
    "gc_prune": gc_prune,
    "lock_worktree": lock_worktree,
    "nested_repo": nested_repo,
    "delete_own_worktree": delete_own_worktree,
    "config_tamper": config_tamper,
    "hooks_tamper": hooks_tamper,
    "add_submodule": add_submodule,
    "delete_worktree_admin": delete_worktree_admin,
    "stale_index_lock": stale_index_lock,
    "clobber_info_exclude": clobber_info_exclude,
}
# Kept out of the campaign (see misbehaviours/__init__.py).
SPECIAL: dict[str, Callable[[Worker], Reply | None]] = {
    "break_repo_config": break_repo_config,
}
