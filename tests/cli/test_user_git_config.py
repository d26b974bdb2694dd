"""dispatch's own commits do not depend on the user's git settings: signing that cannot
work in a detached process and merge settings meant for people's own merges."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import Result
from tests.support.fakes import FakeClaude
from tests.support.gitrepo import commit, git
from tests.support.sessions import records, statuses

Cli = Callable[..., Result]
JOIN = """\
# Join
## Workstreams
### Workstream 1: Alpha
- [ ] a
### Workstream 2: Beta
- [ ] b
### Workstream 3: Gamma (After workstreams 1-2)
- [ ] c
"""


@pytest.mark.parametrize("settings", [
    {"commit.gpgsign": "true", "user.signingkey": "NO-SUCH-KEY"},
    {"merge.ff": "only"},
    {"merge.ff": "false", "pull.rebase": "true", "merge.conflictstyle": "zdiff3"},
], ids=["gpgsign-without-a-key", "merge-ff-only", "other-merge-settings"])
@pytest.mark.usefixtures("fake_claude")
def test_a_workstream_with_two_dependencies_gets_both_merged(
        repo: Path, cli: Cli, settings: dict[str, str]) -> None:
    commit(repo, {"specs/join.md": JOIN})
    for key, value in settings.items():
        git(repo, "config", key, value)
    result = cli("start", "specs/join.md", "--wait")
    assert result.code == 0, result
    found = records(repo, "join")
    assert statuses(found) == {"alpha": "done", "beta": "done", "gamma": "done"}
    assert found["gamma"]["deps_merged"] == ["alpha", "beta"]
    for dep in ("alpha", "beta"):
        git(repo, "merge-base", "--is-ancestor", f"join/{dep}", "join/gamma")
    integrated = cli("integrate")
    assert integrated.code == 0, integrated


def test_a_dependency_that_really_conflicts_names_the_files(
        repo: Path, cli: Cli, fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/join.md": JOIN, "shared.txt": "base\n"})
    fake_claude.script({"alpha": [{"do": "conflict"}], "beta": [{"do": "conflict"}]})
    assert cli("start", "specs/join.md", "--wait").code == 1
    gamma = records(repo, "join")["gamma"]
    assert gamma["status"] == "needs_attention"
    assert gamma["error"].startswith("merging beta conflicts in shared.txt; resolve it in ")


def test_no_git_identity_is_refused_before_any_change(repo: Path, cli: Cli,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Without a name and email every commit fails (the workers' and dispatch's own merges):
    one line at the start, not one failed workstream after another."""
    commit(repo, {"specs/join.md": JOIN})
    for name in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME",
                 "GIT_COMMITTER_EMAIL"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", "/dev/null")
    monkeypatch.setenv("EMAIL", "")
    result = cli("start", "specs/join.md", "--rehearse")
    assert (result.code, result.err.splitlines()[-1]) == (1, (
        "dispatch: error: git does not know who commits here (no user.name / user.email): run "
        "'git config --global user.name \"Your Name\"' and 'git config --global user.email "
        "you@example.com', then run dispatch again"))
    assert not (repo / ".worktrees").exists()
    assert git(repo, "branch", "--list", "join/*") == ""
