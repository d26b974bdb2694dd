"""A spec edited while its feature runs: leaving out a workstream whose session runs is
refused (it would be orphaned mid-run, its run never recorded); one that has stopped may be
left out, and is then not resumed behind the spec's back."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.support.cli import Result
from tests.support.fakes import FakeClaude
from tests.support.gitrepo import commit
from tests.support.sessions import records, settle

Cli = Callable[..., Result]
ALPHA = "### Workstream 1: Alpha\n**Files**: `a/**`\n- [ ] do a\n"
BETA = "### Workstream 2: Beta\n**Files**: `b/**`\n- [ ] do b\n"


def test_a_running_workstream_cannot_be_edited_out(repo: Path, cli: Cli,
                                                   fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/two.md": f"# Two\n## Workstreams\n{ALPHA}{BETA}"})
    holding = fake_claude.barrier("beta")
    fake_claude.script({"beta": [holding.step()]})
    assert cli("start", "specs/two.md", "--no-setup").code == 0
    holding.wait_started("beta")
    (repo / "specs/two.md").write_text(f"# Two\n## Workstreams\n{ALPHA}")
    plan_before = (repo / ".worktrees/two/plan.json").read_text()

    refused = cli("start", "specs/two.md", "--no-setup")
    assert (refused.code, refused.err.splitlines()[-1]) == (1, (
        "dispatch: error: the spec no longer has beta, whose session is running or due to run "
        "in feature 'two': put it back, or stop it first ('dispatch stop beta --feature two')"))
    assert (repo / ".worktrees/two/plan.json").read_text() == plan_before

    assert cli("stop", "beta", "--feature", "two").code == 0
    holding.release()
    settle(repo, "two")
    assert cli("start", "specs/two.md", "--no-setup").code == 0  # stopped: it may go
    assert [w["name"] for w in json.loads(
        (repo / ".worktrees/two/plan.json").read_text())["workstreams"]] == ["alpha"]
    resumed = cli("resume", "beta", "--feature", "two")
    assert (resumed.code, resumed.err.splitlines()[-1]) == (1, (
        "dispatch: error: beta is no longer in the feature's spec (an edited spec left it "
        "out); put it back and run 'dispatch start two' (or the spec) to go on with it"))
    assert records(repo, "two")["beta"]["status"] == "stopped"
