"""`dispatch repair`: sessions.json rebuilt from git and the logs after it was lost."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import Result
from tests.support.gitrepo import commit
from tests.support.sessions import THREE, records

Cli = Callable[..., Result]


@pytest.mark.usefixtures("fake_claude")
@pytest.mark.parametrize("damage", ["delete", "garbage", "truncate"])
def test_repair_rebuilds_what_matters(repo: Path, cli: Cli, damage: str) -> None:
    commit(repo, {"specs/three.md": THREE})
    assert cli("start", "specs/three.md", "--wait").code == 0
    before = records(repo)
    state_file = repo / ".worktrees/three/sessions.json"
    base = json.loads(state_file.read_text())["base"]
    if damage == "delete":
        state_file.unlink()
    elif damage == "garbage":
        state_file.write_text("{garbage")
    else:
        state_file.write_text(state_file.read_text()[:200])
    broken = cli("status")
    assert broken.code == 1
    assert broken.err.endswith("'dispatch repair three')\n" if damage == "delete" else
                               "with 'dispatch repair three'\n")
    fixed = cli("repair", "three")
    assert fixed.code == 0, fixed
    after = records(repo)
    for name, record in before.items():
        for key in ("status", "session_id", "branch", "path", "ports", "total_cost_usd",
                    "num_turns", "attempts", "depends_on"):
            assert after[name][key] == record[key], (name, key)
    assert json.loads(state_file.read_text())["base"] == base  # from the branches' reflogs
    assert cli("status").code == 0
    assert cli("resume", "web", "--prompt", "one more thing", "--wait").code == 0
    if damage != "delete":
        assert list((repo / ".worktrees/three").glob("sessions.json.damaged-*"))


def test_repair_refuses_a_good_file(repo: Path, cli: Cli) -> None:
    commit(repo, {"specs/three.md": THREE})
    assert cli("start", "specs/three.md", "--no-agents").code == 0
    result = cli("repair", "three")
    assert (result.code, result.err) == (1, (
        "dispatch: error: .worktrees/three/sessions.json is readable; nothing to repair (pass "
        "--force to rebuild it anyway)\n"))
