"""A spec the coordinator has just written is not in the worktrees (they are made from a
commit): the workers read the copy dispatch keeps in the feature folder, exactly as planned."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.support.cli import Result
from tests.support.fakes import FakeClaude
from tests.support.gitrepo import git

Cli = Callable[..., Result]
SPEC = "# Search\nThe ranking must use BM25.\n## Workstreams\n### Api\n- [ ] serve\n"


def test_an_uncommitted_spec_reaches_the_workers_through_the_snapshot(
        repo: Path, cli: Cli, fake_claude: FakeClaude) -> None:
    (repo / "specs").mkdir()
    (repo / "specs/search.md").write_text(SPEC)  # written by the coordinator, not committed
    result = cli("start", "specs/search.md", "--wait")
    assert result.code == 0, result
    assert "warning: specs/search.md is not committed (or has uncommitted edits): the " \
           "workers read the copy dispatch keeps in the feature folder (spec.md)" in result.err
    snapshot = repo / ".worktrees/search/spec.md"
    assert snapshot.read_text() == SPEC
    worktree = repo / ".worktrees/search/api"
    assert not (worktree / "specs/search.md").exists()  # not in the worktree: it was new
    assert f"The whole spec, as it was planned, is `{snapshot}`" in (
        worktree / ".workstream/TASKS.md").read_text()
    assert str(snapshot) in (repo / ".worktrees/search/COORDINATION.md").read_text()
    (call,) = fake_claude.calls()
    system = call["argv"][call["argv"].index("--append-system-prompt") + 1]
    assert f"whole spec, as planned, is {snapshot}" in system


def test_the_snapshot_changes_only_when_the_spec_is_planned_again(
        repo: Path, cli: Cli) -> None:
    (repo / "specs").mkdir()
    (repo / "specs/search.md").write_text(SPEC)
    git(repo, "add", "specs")
    git(repo, "commit", "-q", "-m", "spec")
    assert cli("start", "specs/search.md", "--no-agents").err == ""  # committed: no warning
    (repo / "specs/search.md").write_text(SPEC + "- [ ] a later edit\n")
    assert cli("start", "search", "--no-agents").code == 0
    assert (repo / ".worktrees/search/spec.md").read_text() == SPEC
    assert cli("start", "specs/search.md", "--no-agents").code == 0
    assert (repo / ".worktrees/search/spec.md").read_text().endswith("a later edit\n")
