"""The autopilot (`start --integrate`): a spec in, one green integration branch out, with the
conflicts and red tests handed back to the sessions that made them."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import Result
from tests.support.fakes import FakeClaude
from tests.support.gitrepo import commit, git

Cli = Callable[..., Result]
NAMES = ["api", "web", "cli", "docs", "jobs", "auth"]
VERIFY = "! git grep -q BROKEN -- '*.txt'"
# cli's own check is narrower than the project's: its work passes it and breaks the whole.
SIX = f"""---
verify: "{VERIFY}"
workstreams:
  cli: {{verify: "test -f work/cli.txt"}}
---
# Six
## Workstreams
""" + "".join(
    f"### Workstream {i}: {n.title()}\n**Files**: `work/{n}.txt`"
    + (", `shared.txt`\n" if n in ("api", "web") else "\n")
    + ("**Depends on**: api\n" if n == "docs" else "") + "- [ ] do it\n"
    for i, n in enumerate(NAMES, start=1))


def state(repo: Path) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((repo / ".worktrees/six/sessions.json").read_text())
    return found


def prompts(fake: FakeClaude, name: str) -> list[str]:
    calls = [json.loads(x) for x in (fake.state / "calls.jsonl").read_text().splitlines()]
    return [c["prompt"] for c in calls if c["workstream"] == name]


def test_six_workstreams_land_green_with_no_keystroke(repo: Path, cli: Cli,
                                                      fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/six.md": SIX})
    fake_claude.script({
        # Both write shared.txt: whichever lands second conflicts, and fixes it when told.
        "api": [{"do": "conflict"}, {"do": "fix"}],
        "web": [{"do": "conflict"}, {"do": "fix"}],
        # Red verify; its first fix round does not fix it, its second does.
        "cli": [{"do": "broken"}, {"do": "work"}, {"do": "fix"}],
    })
    started = cli("start", "specs/six.md", "--integrate", "--wait", "--no-setup")
    assert started.code == 0, started
    found = state(repo)
    records = found["workstreams"]
    assert {n: r["status"] for n, r in records.items()} == dict.fromkeys(NAMES, "done")
    merges = found["integration"]["merges"]
    assert {n: m["status"] for n, m in merges.items()} == dict.fromkeys(NAMES, "merged")

    conflicted = [n for n in ("api", "web") if records[n]["rounds"]]
    assert len(conflicted) == 1  # the one that landed second
    (loser,) = conflicted
    other = "web" if loser == "api" else "api"
    (round_,) = records[loser]["rounds"]
    assert (round_["kind"], round_["files"], round_["collides_with"]) == (
        "conflict", ["shared.txt"], [other])
    told = prompts(fake_claude, loser)[-1]
    assert "git merge six/integration" in told and "- shared.txt" in told

    assert [r["kind"] for r in records["cli"]["rounds"]] == ["verify", "verify"]
    first, second = prompts(fake_claude, "cli")[1:]
    assert VERIFY in first and "fix round 1 of at most 2" in first
    assert "fix round 2 of at most 2" in second

    integration = repo / ".worktrees/six/integration"
    assert subprocess.run(["sh", "-c", VERIFY], cwd=integration).returncode == 0
    assert sorted((integration / "shared.txt").read_text().splitlines()) == [
        "api was here", "web was here"]  # both sides of the conflict kept
    assert git(integration, "status", "--porcelain") == ""
    order = git(repo, "log", "--first-parent", "--format=%s", "six/integration").splitlines()
    assert order.index("Merge docs workstream") < order.index("Merge api workstream")

    report = (repo / ".worktrees/six/INTEGRATION.md").read_text()
    assert report.count("Fix round") == 3 and "handed back to its session" in report
    # a fix round merged the integration branch in: that work is not counted as its own
    assert "Changed outside its owned files" not in report
    assert "Merge jobs workstream" not in report.split("## `web`")[1].split("## `cli`")[0]
    shown = json.loads(cli("status", "--json").out)
    assert shown["autopilot"]["landed"] == sorted(NAMES)
    assert [len(w["rounds"]) for w in shown["workstreams"] if w["name"] == "cli"] == [2]
    assert "autopilot: 6 of 6 landed in six/integration" in cli("status").out
    # a collision the radar saw while they worked is resolved once both sides landed
    assert shown["collisions"] == [] and "collision:" not in cli("status").out


def test_a_workstream_that_cannot_fix_it_goes_to_a_person(repo: Path, cli: Cli,
                                                         fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/six.md": SIX})
    fake_claude.script({"cli": [{"do": "broken"}, {"do": "work"}, {"do": "work"}]})
    started = cli("start", "specs/six.md", "--integrate", "--fix-rounds", "1", "--wait",
                  "--no-setup")
    assert started.code == 1, started
    records = state(repo)["workstreams"]
    assert records["cli"]["status"] == "needs_attention"
    assert records["cli"]["error"].startswith("still does not land after 1 fix round(s)")
    assert "dispatch resume cli" in records["cli"]["error"]
    merges = state(repo)["integration"]["merges"]
    assert merges["cli"]["status"] == "verify_failed"
    assert {m["status"] for n, m in merges.items() if n != "cli"} == {"merged"}
    # the report says how it ended (the last landing wrote it before the hand-back)
    report = (repo / ".worktrees/six/INTEGRATION.md").read_text()
    assert "| `cli` | needs_attention | verify_failed |" in report


@pytest.mark.usefixtures("fake_claude")
def test_without_integrate_nothing_is_merged(repo: Path, cli: Cli) -> None:
    commit(repo, {"specs/six.md": SIX})
    assert cli("start", "specs/six.md", "--wait", "--no-setup").code == 0
    assert state(repo)["integration"] is None


def test_a_restart_keeps_what_the_first_start_chose(repo: Path, cli: Cli,
                                                    fake_claude: FakeClaude) -> None:
    """`dispatch start <feature>` after a stop (or a crash) carries on with the autopilot,
    the budget and the pace the feature was started with, unless it is told otherwise."""
    commit(repo, {"specs/six.md": SIX})
    holding = fake_claude.barrier("cli")
    fake_claude.script({"cli": [holding.step()]})
    assert cli("start", "specs/six.md", "--integrate", "--fix-rounds", "3", "--budget-usd",
               "5", "--max-parallel", "3", "--no-setup").code == 0
    holding.wait_started("cli")
    assert cli("stop", "--feature", "six").code == 0
    holding.release()
    assert cli("start", "six", "--no-setup").code == 0
    run = state(repo)["run"]
    assert (run["integrate"], run["fix_rounds"], run["budget_usd"], run["max_parallel"]) == (
        True, 3, 5.0, 3)
    assert cli("start", "six", "--no-integrate", "--no-setup").code == 0
    assert state(repo)["run"]["integrate"] is False


TWO = """---
verify: "true"
---
# Two
## Workstreams
### Workstream 1: Api
**Files**: `work/api.txt`
- [ ] do it
### Workstream 2: Web
**Files**: `work/web.txt`
**Depends on**: api
- [ ] do it
"""
# A worker reaching past its worktree (it may: the feature folder is one of its --add-dir),
# into the integration worktree once api has landed there, to "fix" it there.
HOTFIX = ["sh", "-c", "for i in $(seq 300); do git -C ../integration log --format=%s 2>/dev/null "
          "| grep -q 'Merge api workstream' && break; sleep 0.1; done; cd ../integration && "
          "echo fixed > hotfix.txt && git add hotfix.txt && "
          "git -c commit.gpgsign=false commit -qm 'web: quick fix right on integration'"]


def test_a_worker_committing_on_the_integration_branch_is_named(
        repo: Path, cli: Cli, fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/two.md": TWO})
    fake_claude.script({"web": [{"do": "work", "run_before_reply": HOTFIX}]})
    started = cli("start", "specs/two.md", "--integrate", "--wait", "--no-setup")
    assert started.code == 0, started
    merges = json.loads((repo / ".worktrees/two/sessions.json").read_text())[
        "integration"]["merges"]
    assert {n: m["status"] for n, m in merges.items()} == {"api": "merged", "web": "merged"}
    stranger = git(repo, "log", "--format=%H", "-1", "--grep=quick fix", "two/integration")
    report = (repo / ".worktrees/two/INTEGRATION.md").read_text()
    assert f"- `{stranger[:10]}` web: quick fix right on integration\n" in report
    assert "- Review the 1 commit on `two/integration` that no workstream brought" in report
