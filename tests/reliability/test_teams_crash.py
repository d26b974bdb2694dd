"""`dispatch compare WS --judge` killed with SIGKILL at a seeded random moment (the process or
its whole process group), then run again: the comparison converges — one judge session in
all (an orphaned judge is waited for and its answer read, never run twice), its cost booked
once, the judge's pick recorded, the comparison written, no lock left held. The helpers and
the way trials are drawn are tests/support/crash.py's."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.crash import (
    Evidence,
    build_repo,
    finished,
    held_locks,
    kill,
    kill_plan,
    run_dispatch,
    seeds,
    spawn,
    state_json,
)
from tests.support.fakes import FakeClaude

FEATURE = "duo"
SPEC = """# Duo
## Workstreams
### Workstream 1: Audio
**Files**: `work/**`
**Teams**: 2
- [ ] capture
### Workstream 2: Web
**Files**: `web/**`
- [ ] page
"""
JUDGE_SECONDS = 1.5  # the scripted judge's own time
# Kill delays are drawn from [0, this]: the judge's time plus the evidence (under a second
# here), so a kill lands before the judge starts, while it runs, or after it answered.
COMPARE_SECONDS = JUDGE_SECONDS + 1.0
COST = 0.07


def judge_step() -> dict[str, object]:
    answer = {"winner": 2, "reasons": ["better"], "risks": ["none known"]}
    return {"do": "nowork", "sleep": JUDGE_SECONDS, "raw": json.dumps({
        "type": "result", "subtype": "success", "is_error": False, "duration_ms": 1500,
        "num_turns": 1, "session_id": "$SESSION", "total_cost_usd": COST,
        "result": json.dumps(answer), "structured_output": answer}) + "\n"}


@pytest.fixture
def duo_repo(tmp_path: Path, fake_claude: FakeClaude) -> Path:
    """Both teams done, the rule's pick (team 1) recorded, no judge run yet."""
    repo = build_repo(tmp_path / "repo", "duo.md", SPEC, files=20)
    fake_claude.script({"audio.judge": [judge_step()] * 3})
    started = run_dispatch(repo, "start", "specs/duo.md", "--wait", "--no-setup")
    team = state_json(repo, FEATURE)["teams"]["audio"]
    assert (team["picked"], team["picked_by"]) == ("audio.t1", "rule"), started
    return repo


def judge_calls(fake: FakeClaude) -> list[dict[str, Any]]:
    return [c for c in fake.calls() if c["workstream"] == "audio.judge"]


def check_converged(repo: Path, fake: FakeClaude, evidence: Evidence) -> None:
    with evidence.printed_on_failure():
        team = state_json(repo, FEATURE)["teams"]["audio"]
        evidence.add("team record", json.dumps(team, indent=1, default=str)[:3000])
        assert (team["picked"], team["picked_by"]) == ("audio.t2", "judge")
        assert len(judge_calls(fake)) == 1  # never a second judge for the same attempts
        judge = team["judge"]
        assert judge["total_cost_usd"] == COST and judge["booked_attempt"] == judge["attempts"]
        assert judge["pid"] is None
        document = (repo / ".worktrees/duo/compare/audio.md").read_text()
        assert "**Pick: audio.t2 (team 2), by the judge**" in document
        assert held_locks(repo, FEATURE) == {}
        again = run_dispatch(repo, "compare", "audio", "--judge", "--json")
        evidence.add("third run", again)
        assert again.code == 0 and json.loads(again.output)["picked"] == "audio.t2"
        assert len(judge_calls(fake)) == 1
        assert state_json(repo, FEATURE)["teams"]["audio"]["judge"]["total_cost_usd"] == COST


def test_compare_killed_while_its_judge_runs_then_rerun_converges(
        duo_repo: Path, fake_claude: FakeClaude, tmp_path: Path) -> None:
    """The kill lands while the judge works: the rerun waits for that orphaned judge."""
    args = ("compare", "audio", "--judge")
    clock = time.monotonic()
    proc = spawn(duo_repo, args, tmp_path / "killed.log")
    deadline = time.monotonic() + 30
    while not judge_calls(fake_claude):
        assert proc.poll() is None and time.monotonic() < deadline, "no judge was started"
        time.sleep(0.01)
    kill(proc.pid, group=True)  # the judge has its own session: it lives on
    killed = finished(proc, tmp_path / "killed.log", clock)
    rerun = run_dispatch(duo_repo, *args)
    evidence = Evidence("`dispatch compare audio --judge` killed while its judge ran")
    evidence.add("killed run", killed)
    evidence.add("rerun", rerun)
    assert rerun.code == 0, rerun
    check_converged(duo_repo, fake_claude, evidence)


@pytest.mark.parametrize("seed", seeds("compare", 3),
                         ids=lambda seed: f"seed{seed}")
def test_compare_killed_at_a_random_moment_then_rerun_converges(
        duo_repo: Path, fake_claude: FakeClaude, tmp_path: Path, seed: int) -> None:
    plan = kill_plan(random.Random(seed), seed, COMPARE_SECONDS, group_share=0.5)
    args = ("compare", "audio", "--judge")
    clock = time.monotonic()
    proc = spawn(duo_repo, args, tmp_path / "killed.log")
    time.sleep(plan.delay)
    kill(proc.pid, group=plan.group)
    killed = finished(proc, tmp_path / "killed.log", clock)
    rerun = run_dispatch(duo_repo, *args)
    evidence = Evidence(f"`dispatch compare audio --judge` killed: {plan}")
    evidence.add("killed run", killed)
    evidence.add("rerun", rerun)
    with evidence.printed_on_failure():
        assert rerun.code == 0
    check_converged(duo_repo, fake_claude, evidence)
