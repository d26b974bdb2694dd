"""The judge of competing teams against the real pinned CLI (README: Competing teams).

The two teams' sessions run on the stand-in worker (tests/support/fake_claude.py): what is
under test here is the judge session alone. Once both teams are done, the feature's claude
program is switched to the real CLI and `dispatch compare audio --judge` runs it, against
the loopback stand-in API (standin_api.py): dispatch builds the argv
(`-p --output-format json --json-schema ... --tools "" -- <prompt>`), the CLI offers the
model one tool, StructuredOutput, whose input it returns as `structured_output`; dispatch
reads that answer, books its cost, and picks. A model that answers in prose instead is
"no judgement": the CLI asks it once more, then ends with a success that has no
`structured_output`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dispatch.sessions import judge
from dispatch.state.paths import FeaturePaths
from dispatch.state.store import StateStore
from tests.contract.dispatch_support import PointClaude
from tests.contract.realclaude import CLAUDE, needs_claude
from tests.contract.standin_api import StandinAPI, Step, Text, tool
from tests.support.cli import Result
from tests.support.gitrepo import commit

Cli = Callable[..., Result]
SPEC = """# Duo
## Workstreams
### Workstream 1: Audio
**Files**: `work/**`
**Teams**: 2
**Approaches**: PyAudio; sounddevice
- [ ] capture
"""


def teams_done_then_real_judge(repo: Path, cli: Cli) -> FeaturePaths:
    """Both teams done by the stand-in worker (the rule picks team 1); then the real CLI is
    the feature's claude program, for the judge."""
    commit(repo, {"specs/duo.md": SPEC})
    started = cli("start", "specs/duo.md", "--wait", "--no-setup")
    paths = FeaturePaths(repo, "duo")
    state = StateStore(paths).load()
    assert state.teams["audio"].picked == "audio.t1", started

    def real(found: Any) -> Any:
        found.run.claude = [str(CLAUDE)]
        return found

    StateStore(paths).update(real)
    return paths


def judged(repo: Path, cli: Cli, point_claude: PointClaude,
           script: list[Step]) -> tuple[Result, StandinAPI, dict[str, Any]]:
    with StandinAPI(script) as api:
        point_claude(api.base_url)
        result = cli("compare", "audio", "--judge", "--json")
    state: dict[str, Any] = json.loads((repo / ".worktrees/duo/sessions.json").read_text())
    return result, api, state


@needs_claude
@pytest.mark.usefixtures("fake_claude")
def test_the_real_cli_judge_answers_in_the_fixed_shape(
        repo: Path, cli: Cli, point_claude: PointClaude) -> None:
    paths = teams_done_then_real_judge(repo, cli)
    answer = {"winner": 2, "reasons": ["sounddevice needs no callbacks"],
              "risks": ["blocking reads"]}
    result, api, state = judged(repo, cli, point_claude,
                                [tool("StructuredOutput", **answer), Text("unused")])
    assert result.code == 0, result
    team = state["teams"]["audio"]
    assert (team["picked"], team["picked_by"]) == ("audio.t2", "judge")
    assert (team["judge"]["winner"], team["judge"]["reasons"], team["judge"]["risks"]) == (
        2, answer["reasons"], answer["risks"])

    # What the CLI made of dispatch's argv: one request, one tool, the schema as its input.
    (request,) = api.main_requests()
    (offered,) = request["tools"]
    assert offered["name"] == "StructuredOutput"
    assert offered["input_schema"]["required"] == judge.SCHEMA["required"]
    said = json.dumps(request["messages"])
    assert "RESULTS.md written by team 2" in said and "Diff of team 1" in said
    assert "approach: sounddevice" in said

    # The answer as the CLI printed it, and its cost booked like any session's.
    output = json.loads((paths.logs / "audio.judge.1.json").read_text())
    assert output["structured_output"] == answer
    assert output["session_id"] == team["judge"]["session_id"]
    assert output["total_cost_usd"] > 0
    assert team["judge"]["total_cost_usd"] == pytest.approx(output["total_cost_usd"])
    shown = json.loads(cli("status", "--json").out)
    runs = sum(w["cost_usd"] for w in shown["workstreams"])
    assert shown["totals"]["cost_usd"] == pytest.approx(runs + output["total_cost_usd"])


@needs_claude
@pytest.mark.usefixtures("fake_claude")
def test_a_judge_that_answers_in_prose_is_no_judgement(
        repo: Path, cli: Cli, point_claude: PointClaude) -> None:
    teams_done_then_real_judge(repo, cli)
    result, api, state = judged(repo, cli, point_claude,
                                [Text("Team 2, clearly."), Text("I said team 2.")])
    assert result.code == 0, result
    assert len(api.main_requests()) == 2  # the CLI asked once more for the tool call
    team = state["teams"]["audio"]
    assert (team["picked"], team["picked_by"]) == ("audio.t1", "rule")
    assert team["judge"]["problem"] == "its answer held no JSON object {winner, reasons, risks}"
    assert team["judge"]["total_cost_usd"] > 0  # it cost money all the same
    document = (repo / ".worktrees/duo/compare/audio.md").read_text()
    assert "No judgement: its answer held no JSON object" in document
