"""Pure parsers of git's machine-readable output, against literal strings; and GitError."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatch.gitops import history, refs, runner, tree, worktrees


def test_parse_worktree_list() -> None:
    text = ("worktree /repo\0HEAD 1111\0branch refs/heads/main\0\0"
            "worktree /repo/.worktrees/f/a\0HEAD 2222\0detached\0\0"
            "worktree /gone\0HEAD 3333\0branch refs/heads/f/b\0prunable gitdir file points "
            "to non-existent location\0\0")
    assert worktrees.parse_worktree_list(text) == [
        worktrees.Worktree(Path("/repo"), "1111", "main"),
        worktrees.Worktree(Path("/repo/.worktrees/f/a"), "2222", None),
        worktrees.Worktree(Path("/gone"), "3333", "f/b", prunable=True),
    ]


def test_parse_status_z_with_rename_and_spaces() -> None:
    text = " M app/main.py\0R  new name.py\0old name.py\0?? notes.txt\0"
    assert tree.parse_status_z(text) == ["app/main.py", "new name.py", "notes.txt"]


def test_git_error_shows_command_code_and_last_stderr_line(repo: Path) -> None:
    with pytest.raises(runner.GitError) as caught:
        runner.run(["rev-parse", "--verify", "no-such-ref"], repo)
    assert caught.value.message == (
        "git rev-parse --verify no-such-ref failed (exit 128): fatal: Needed a single revision")


def test_commit_of_refuses_option_like_refs(repo: Path) -> None:
    assert refs.commit_of(repo, "--upload-pack=touch x") is None
    assert refs.commit_of(repo, "HEAD") == runner.run(["rev-parse", "HEAD"], repo).strip()


def test_creation_commits_come_from_the_reflog(repo: Path) -> None:
    base = runner.run(["rev-parse", "HEAD"], repo).strip()
    runner.run(["branch", "feat/a"], repo)
    runner.run(["checkout", "-q", "feat/a"], repo)
    (repo / "a.txt").write_text("a")
    runner.run(["add", "a.txt"], repo)
    runner.run(["commit", "-q", "-m", "a"], repo)
    runner.run(["checkout", "-q", "main"], repo)
    assert history.creation_commits(repo, ["feat/a", "gone"]) == {"feat/a": base}
