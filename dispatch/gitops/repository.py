"""Finding the user's repository and the guards that run before anything changes.

Every `expect_*` raises a DispatchError whose message names the command that fixes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dispatch.core.errors import DispatchError
from dispatch.gitops import refs, runner


@dataclass(frozen=True)
class Repo:
    root: Path  # the main checkout's top level (even when called from inside a worktree)
    git_dir: Path  # the common .git folder


def find_root_or_none(cwd: Path) -> Path | None:
    try:
        return find(cwd).root
    except DispatchError:
        return None


def find(cwd: Path) -> Repo:
    """The repository around `cwd`, like git finds it; refuse bare repositories."""
    proc = runner.result(["rev-parse", "--is-bare-repository", "--is-inside-git-dir",
                       "--git-common-dir"], cwd)
    if proc.returncode != 0:
        said = proc.stderr.strip().splitlines()[-1:] or [""]
        if "not a git repository" not in said[0] and said[0]:
            # A repository git cannot read (a broken .git/config, say): git's words say why.
            why = said[0].removeprefix("fatal: ")
            raise DispatchError(f"git cannot read the repository at {cwd} ({why}); fix that, "
                                "then run dispatch again")
        raise DispatchError(f"{cwd} is not inside a git repository; run dispatch from your "
                            "project's checkout (or 'git init' one first)")
    bare, inside_git_dir, common_dir = proc.stdout.strip().split("\n")
    if bare == "true" or inside_git_dir == "true":
        raise DispatchError(f"{cwd} is a bare repository or a .git folder; dispatch needs a "
                            "checkout: run it in your project's working tree")
    top = runner.run(["rev-parse", "--show-toplevel"], cwd).strip()
    lines = [bare, common_dir, top]
    common = (cwd / lines[1]).resolve()
    # From inside a linked worktree (e.g. .worktrees/f/ws) the main checkout owns `.git`.
    root = common.parent if common.name == ".git" else Path(lines[2]).resolve()
    return Repo(root=root, git_dir=common)


def expect_commits(repo: Repo) -> str:
    head = refs.commit_of(repo.root, "HEAD")
    if head is None:
        raise DispatchError("this repository has no commits yet; make a first commit "
                            "('git commit --allow-empty -m init') and run dispatch again")
    return head


def expect_no_operation_in_progress(repo: Repo) -> None:
    for marker, what, fix in (
        ("MERGE_HEAD", "a merge", "git merge --continue' or 'git merge --abort"),
        ("rebase-merge", "a rebase", "git rebase --continue' or 'git rebase --abort"),
        ("rebase-apply", "a rebase or am", "git rebase --abort' or 'git am --abort"),
        ("CHERRY_PICK_HEAD", "a cherry-pick", "git cherry-pick --abort"),
        ("REVERT_HEAD", "a revert", "git revert --abort"),
        ("BISECT_LOG", "a bisect", "git bisect reset"),
    ):
        if (repo.git_dir / marker).exists():
            raise DispatchError(f"{what} is in progress in {repo.root}; finish it first "
                                f"('{fix}')")


def expect_identity(repo: Repo) -> None:
    """Workers commit, and so do dispatch's own merges: without a name and email git refuses
    every commit, which would fail each workstream late, one by one."""
    if runner.result(["var", "GIT_COMMITTER_IDENT"], repo.root).returncode != 0:
        raise DispatchError("git does not know who commits here (no user.name / user.email): "
                            "run 'git config --global user.name \"Your Name\"' and 'git config "
                            "--global user.email you@example.com', then run dispatch again")


def resolve_base(repo: Repo, ref: str | None) -> str:
    if ref is None:
        return expect_commits(repo)
    commit = refs.commit_of(repo.root, ref) if not ref.startswith("-") else None
    if commit is None:
        raise DispatchError(f"base {ref!r} does not name a commit; pass an existing branch, "
                            "tag or commit to --base (see 'git branch -a')")
    return commit


def create(path: Path, message: str, identity: tuple[str, str]) -> None:
    """`git init` a folder and commit everything in it as `identity` (name, email)."""
    name, email = identity
    runner.run(["init", "-q"], path)
    runner.run(["config", "user.name", name], path)
    runner.run(["config", "user.email", email], path)
    runner.run(["add", "-A"], path)
    runner.run(["commit", "-q", "-m", message], path)
