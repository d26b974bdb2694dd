"""Workers run git with the user's permissions and sometimes leave their branch. The done
check judges the branch ref, brings commits that simply continue the branch back onto it,
and never counts a branch without its work as done (which would let `integrate` call it
merged and `clean` drop the commits)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import Result
from tests.support.fakes import FakeClaude
from tests.support.gitrepo import commit, git
from tests.support.sessions import records

Cli = Callable[..., Result]
ONE = "# One\n## Workstreams\n### Api\n- [ ] serve\n"


@pytest.fixture
def one(repo: Path) -> Path:
    commit(repo, {"specs/one.md": ONE}, "spec")
    return repo


@pytest.mark.parametrize(("action", "where"), [
    ("detach", "on a detached HEAD"), ("own_branch", "on the branch worker-own")])
def test_commits_off_the_branch_that_continue_it_are_brought_back(
        one: Path, cli: Cli, fake_claude: FakeClaude, action: str, where: str) -> None:
    fake_claude.script({"api": [{"do": action}]})
    assert cli("start", "specs/one.md", "--wait", "--no-follow-up").code == 0
    api = records(one, "one")["api"]
    worktree = one / ".worktrees/one/api"
    assert (api["status"], api["commits"]) == ("done", 1)
    assert git(worktree, "symbolic-ref", "--short", "HEAD") == "one/api"
    assert git(one, "log", "--format=%s", "-1", "one/api") == "api: run 1"
    assert api["tip"] == git(one, "rev-parse", "one/api")
    assert any(where in note and "moved forward" in note for note in api["notes"])
    integrated = cli("integrate")
    assert integrated.code == 0, integrated
    assert git(one, "show", "one/integration:work/api.txt") == "run 1"


def test_commits_that_diverge_from_the_branch_are_never_counted_done(
        one: Path, cli: Cli, fake_claude: FakeClaude) -> None:
    fake_claude.script({"api": [{"do": "diverge"}]})
    assert cli("start", "specs/one.md", "--wait", "--no-follow-up").code == 1
    api = records(one, "one")["api"]
    assert api["status"] == "needs_attention"
    assert "not on its branch one/api: check out one/api" in api["error"]
    nothing = cli("integrate")
    assert nothing.code == 1 and "nothing to integrate" in nothing.err
