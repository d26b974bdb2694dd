"""Easing off when the API pushes back, end to end: a stand-in API that answers 529 to a
session that finds two others running. The supervisor halves how many sessions run at once,
`status` says so and why, and every workstream still ends done — resumed, not restarted."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import Result
from tests.support.fakes import FakeClaude
from tests.support.gitrepo import commit
from tests.support.sessions import settle, statuses
from tests.support.waiting import wait_for

Cli = Callable[..., Result]
FOUR = "# Four\n## Workstreams\n" + "".join(
    f"### {name}\n**Files**: `{name.lower()}/**`\n- [ ] do it\n"
    for name in ("Api", "Web", "Cli", "Docs"))


def _concurrency(cli: Cli) -> dict[str, object]:
    found: dict[str, object] = json.loads(cli("status", "--json").out)["concurrency"]
    return found


@pytest.mark.parametrize("fixed", [False, True], ids=["adaptive", "fixed"])
def test_the_limit_halves_while_the_api_pushes_back(
        repo: Path, cli: Cli, fake_claude: FakeClaude, monkeypatch: pytest.MonkeyPatch,
        fixed: bool) -> None:
    monkeypatch.setenv("FAKE_CLAUDE_API_CAPACITY", "2")
    commit(repo, {"specs/four.md": FOUR})
    holding = fake_claude.barrier("holding")
    # Two sessions get the API and hold it; the other two are answered 529, and their
    # retries (the next step: work and succeed) wait for the limit.
    fake_claude.script({"*": [holding.step()]})
    extra = ["--fixed-parallel"] if fixed else []
    assert cli("start", "specs/four.md", "--no-setup", "--max-parallel", "4",
               "--retry-delay", "0", *extra).code == 0
    overloaded = fake_claude.state / "overloaded.jsonl"
    wait_for(lambda: overloaded.exists() and len(overloaded.read_text().splitlines()) >= 2,
             "the stand-in API never pushed back")
    if fixed:
        assert _concurrency(cli)["limit"] is None
    else:
        wait_for(lambda: _concurrency(cli)["limit"] is not None, "the limit was never cut")
        pace = _concurrency(cli)
        assert pace["max_parallel"] == 4 and pace["limit"] in (1, 2)
        assert "the API pushed back (API Error: 529" in str(pace["why"])
        footer = cli("status").out
        assert f"easing off: {pace['limit']} session(s) at once, of 4: the API pushed back" \
            in footer
    holding.release()
    done = settle(repo, "four")
    assert statuses(done) == dict.fromkeys(("api", "web", "cli", "docs"), "done")
    calls = fake_claude.calls()
    for name, record in done.items():  # a pushed-back session is resumed, not restarted
        own = [c for c in calls if c["workstream"] == name]
        assert {c["session_id"] for c in own} == {record["session_id"]}
    if not fixed:  # each success added one back: no limit left
        assert _concurrency(cli)["limit"] is None
