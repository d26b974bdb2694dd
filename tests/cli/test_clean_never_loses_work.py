"""`dispatch clean` (without --force) never loses work, whatever a worker or a person left:
it removes a worktree only when git itself would and every commit its HEAD reaches stays in
a branch, deletes only the branches dispatch made once they are merged, and removes only the
files it wrote (anything else is archived and named)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import Result
from tests.support.fakes import FakeClaude
from tests.support.gitrepo import commit, git, snapshot, write
from tests.support.integrate import FOUR, work

Cli = Callable[..., Result]
ONE = "# One\n## Workstreams\n### Api\n- [ ] serve\n"


def reachable(repo: Path, commit_id: str) -> bool:
    """Whether some ref (branch, tag, a worktree's HEAD) still reaches the commit."""
    out = git(repo, "rev-list", "--all", "--reflog")
    heads = git(repo, "worktree", "list", "--porcelain")
    return commit_id in out.split() or commit_id in heads


@pytest.mark.parametrize("where", [".worktrees/one", ".worktrees"])
def test_start_refuses_a_feature_folder_inside_a_persons_own_worktree(
        repo: Path, cli: Cli, where: str) -> None:
    commit(repo, {"specs/one.md": ONE})
    git(repo, "worktree", "add", "-q", "-b", "mine", where)
    (repo / where / "notes.txt").write_text("my uncommitted notes\n")
    before = snapshot(repo)
    result = cli("start", "specs/one.md", "--no-agents")
    assert result.code == 1
    assert result.err.startswith("dispatch: error: .worktrees/one is inside a git worktree "
                                 "that dispatch did not make (")
    assert "on branch mine); dispatch keeps its features there: move that worktree away" \
        in result.err
    assert snapshot(repo) == before
    assert (repo / where / "notes.txt").read_text() == "my uncommitted notes\n"
    assert not list((repo / where).glob(".*.lock")) and not (repo / where / "one").exists()


def test_start_refuses_a_feature_folder_that_holds_someone_elses_files(
        repo: Path, cli: Cli) -> None:
    commit(repo, {"specs/one.md": ONE})
    write(repo, {".worktrees/one/plan-notes.md": "mine\n"})
    result = cli("start", "specs/one.md", "--no-agents")
    assert (result.code, result.err) == (1, (
        "dispatch: error: .worktrees/one already holds files that dispatch did not write "
        "(plan-notes.md); move them away, or name the feature differently ('feature:' in the "
        "spec)\n"))


def test_a_worktree_whose_head_diverged_from_its_branch_is_kept(
        repo: Path, cli: Cli, fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/one.md": ONE})
    fake_claude.script({"api": [{"do": "diverge"}]})
    assert cli("start", "specs/one.md", "--wait", "--no-follow-up").code == 1
    worktree = repo / ".worktrees/one/api"
    head = git(worktree, "rev-parse", "HEAD")
    dry = cli("clean", "--dry-run")
    cleaned = cli("clean")
    assert cleaned.code == 1 and dry.err == cleaned.err
    assert f"kept worktree .worktrees/one/api: its detached HEAD {head[:10]} holds 1 " \
           "commit(s) that no branch that stays has" in cleaned.err
    assert git(worktree, "rev-parse", "HEAD") == head  # still there, still reachable
    assert reachable(repo, head)


def test_files_dispatch_did_not_write_are_archived_and_named(
        repo: Path, cli: Cli) -> None:
    commit(repo, {"specs/four.md": FOUR})
    assert cli("start", "specs/four.md", "--no-agents").code == 0
    for name in ("api", "web", "cli", "docs"):
        work(repo, name, {f"{name}/x.txt": name})
    assert cli("integrate").code == 0
    feature = repo / ".worktrees/four"
    (feature / "NOTES-from-a-worker.md").write_text("a worker's note\n")
    (feature / "scratch").mkdir()
    (feature / "scratch/idea.txt").write_text("idea\n")
    dry = cli("clean", "--dry-run")
    assert "would move .worktrees/four/NOTES-from-a-worker.md (not dispatch's) into the " \
           "archive" in dry.out
    assert "would move .worktrees/four/scratch (not dispatch's) into the archive" in dry.out
    cleaned = cli("clean")
    assert cleaned.code == 0, cleaned
    (archive,) = (repo / ".worktrees/.archive").iterdir()
    assert (archive / "other/NOTES-from-a-worker.md").read_text() == "a worker's note\n"
    assert (archive / "other/scratch/idea.txt").read_text() == "idea\n"
    assert "moved .worktrees/four/scratch (not dispatch's) to " in cleaned.out


def test_a_worktree_someone_added_inside_the_feature_folder_is_never_removed(
        repo: Path, cli: Cli) -> None:
    commit(repo, {"specs/one.md": ONE})
    assert cli("start", "specs/one.md", "--no-agents").code == 0
    own = repo / ".worktrees/one/experiment"
    git(repo, "worktree", "add", "-q", "-b", "experiment", str(own))
    (own / "draft.txt").write_text("uncommitted\n")
    for args in (("clean",), ("clean", "--force")):
        result = cli(*args)
        assert result.code == 1
        assert "kept worktree .worktrees/one/experiment: dispatch did not make it" in result.err
        assert (own / "draft.txt").read_text() == "uncommitted\n"


def test_a_branch_named_in_the_spec_that_exists_is_never_moved_nor_deleted(
        repo: Path, cli: Cli) -> None:
    git(repo, "branch", "release-1.0")
    old = git(repo, "rev-parse", "release-1.0")
    commit(repo, {"specs/one.md": ONE.replace("- [ ] serve", "**Branch**: release-1.0\n"
                                               "- [ ] serve")})
    refused = cli("start", "specs/one.md", "--no-agents")
    assert refused.code == 1
    assert "branch 'release-1.0' (the **Branch** of workstream 'api') already exists and " \
           "dispatch did not make it" in refused.err
    assert cli("start", "specs/one.md", "--no-agents", "--force").code == 0
    assert git(repo, "rev-parse", "release-1.0") == old  # adopted as it is
    cleaned = cli("clean")
    assert cleaned.code == 0, cleaned
    assert "deleted branch" not in cleaned.out
    assert git(repo, "rev-parse", "release-1.0") == old
