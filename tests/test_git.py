"""Pure parsers of git's machine-readable output, against literal strings; and GitError."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatch import git


def test_parse_worktree_list() -> None:
    text = ("worktree /repo\0HEAD 1111\0branch refs/heads/main\0\0"
            "worktree /repo/.worktrees/f/a\0HEAD 2222\0detached\0\0"
            "worktree /gone\0HEAD 3333\0branch refs/heads/f/b\0prunable gitdir file points "
            "to non-existent location\0\0")
    assert git.parse_worktree_list(text) == [
        git.Worktree(Path("/repo"), "1111", "main"),
        git.Worktree(Path("/repo/.worktrees/f/a"), "2222", None),
        git.Worktree(Path("/gone"), "3333", "f/b", prunable=True),
    ]


def test_parse_status_z_with_rename_and_spaces() -> None:
    text = " M app/main.py\0R  new name.py\0old name.py\0?? notes.txt\0"
    assert git.parse_status_z(text) == ["app/main.py", "new name.py", "notes.txt"]


def test_git_error_shows_command_code_and_last_stderr_line(repo: Path) -> None:
    with pytest.raises(git.GitError) as caught:
        git.run(["rev-parse", "--verify", "no-such-ref"], repo)
    assert caught.value.message == (
        "git rev-parse --verify no-such-ref failed (exit 128): fatal: Needed a single revision")


def test_commit_of_refuses_option_like_refs(repo: Path) -> None:
    assert git.commit_of(repo, "--upload-pack=touch x") is None
    assert git.commit_of(repo, "HEAD") == git.run(["rev-parse", "HEAD"], repo).strip()


def test_creation_commits_come_from_the_reflog(repo: Path) -> None:
    base = git.run(["rev-parse", "HEAD"], repo).strip()
    git.run(["branch", "feat/a"], repo)
    git.run(["checkout", "-q", "feat/a"], repo)
    (repo / "a.txt").write_text("a")
    git.run(["add", "a.txt"], repo)
    git.run(["commit", "-q", "-m", "a"], repo)
    git.run(["checkout", "-q", "main"], repo)
    assert git.creation_commits(repo, ["feat/a", "gone"]) == {"feat/a": base}
