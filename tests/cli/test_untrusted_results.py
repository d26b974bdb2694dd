"""A worker's result is untrusted input: odd numbers, wrong types, a broken worktree or a
state folder that refuses writes for a moment stay that workstream's problem. The supervisor
survives, every other workstream finishes, and every command afterwards works.

Each command runs as a subprocess with a timeout, so a wedged supervisor (the failure these
tests guard against) shows as a hung command, not a hung test run."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.crash import finished, run_dispatch, spawn
from tests.support.fakes import FakeClaude
from tests.support.gitrepo import commit
from tests.support.sessions import records, statuses

TWO = "# Two\n## Workstreams\n### Api\n- [ ] serve\n### Web\n- [ ] show\n"


def raw_result(**fields: object) -> str:
    """A success result as the CLI prints it, with `fields` replaced verbatim (JSON text)."""
    base = {"type": '"result"', "subtype": '"success"', "is_error": "false",
            "num_turns": "3", "duration_ms": "1000", "total_cost_usd": "0.01",
            "result": '"All tasks done."', "session_id": '"$SESSION"'}
    base.update({key: str(value) for key, value in fields.items()})
    return "{" + ", ".join(f'"{k}": {v}' for k, v in base.items()) + "}\n"


@pytest.fixture
def two(repo: Path) -> Path:
    commit(repo, {"specs/two.md": TWO}, "spec")
    return repo


@pytest.mark.parametrize(("fields", "problem"), [
    ({"num_turns": "1e999"}, "num_turns inf is not a number from 0 to 1e+06"),
    ({"num_turns": "NaN"}, "num_turns nan is not a number from 0 to 1e+06"),
    ({"total_cost_usd": "Infinity"}, "total_cost_usd inf is not a number from 0 to 100000"),
    ({"total_cost_usd": "-5"}, "total_cost_usd -5 is not a number from 0 to 100000"),
    ({"errors": "5", "subtype": '"error_during_execution"', "is_error": "true"},
     "errors 5 is not a list"),
    ({"is_error": '"no"'}, "is_error 'no' is not true or false"),
    ({"session_id": '"someone-else"'}, "it names session 'someone-else', not this run's"),
], ids=["turns-overflow", "turns-nan", "cost-inf", "cost-negative", "errors-int",
        "is-error-text", "other-session"])
def test_an_invalid_result_is_booked_safely_and_named(
        two: Path, fake_claude: FakeClaude, fields: dict[str, str], problem: str) -> None:
    fake_claude.script({"api": [{"raw": raw_result(**fields)}]})
    started = run_dispatch(two, "start", "specs/two.md", "--wait", "--no-follow-up",
                           timeout=60)
    assert started.code is not None, started  # not wedged
    found = records(two, "two")
    assert found["web"]["status"] == "done"
    api = found["api"]
    assert api["status"] in ("done", "failed", "needs_attention"), api
    assert api["total_cost_usd"] in (0.0, 0.01)  # never inf, never negative
    assert api["num_turns"] in (0, 3)
    assert any(problem in note for note in api["notes"]), api["notes"]
    status = run_dispatch(two, "status", "--json", timeout=30)
    assert status.code == 0, status
    totals = json.loads(status.output)["totals"]
    assert totals["cost_usd"] == round(0.01 + api["total_cost_usd"], 6)


def test_a_negative_cost_cannot_undercut_the_budget(two: Path,
                                                    fake_claude: FakeClaude) -> None:
    fake_claude.script({"api": [{"raw": raw_result(total_cost_usd="-100")}],
                        "web": [{"cost": 0.5}]})
    ran = run_dispatch(two, "start", "specs/two.md", "--wait", "--budget-usd", "0.4",
                       "--max-parallel", "1", timeout=60)
    assert ran.code is not None, ran
    found = records(two, "two")
    assert found["api"]["total_cost_usd"] == 0.0
    assert sum(r["total_cost_usd"] for r in found.values()) >= 0


def test_a_worker_that_replaced_its_git_folder_is_its_own_problem(
        two: Path, fake_claude: FakeClaude) -> None:
    """The done check cannot read git in api's worktree: api needs attention, web is done,
    and the supervisor went on."""
    fake_claude.script({"api": [{"do": "break_git"}]})
    ran = run_dispatch(two, "start", "specs/two.md", "--wait", "--no-follow-up", timeout=60)
    assert ran.code == 1, ran
    found = records(two, "two")
    assert statuses(found) == {"api": "needs_attention", "web": "done"}
    assert found["api"]["error"].startswith("its work could not be checked: git ")
    assert run_dispatch(two, "status", timeout=30).code == 0


def test_a_state_folder_that_refuses_writes_for_a_moment(
        two: Path, fake_claude: FakeClaude, tmp_path: Path) -> None:
    """As api's run ends, sessions.json's folder becomes immutable (even for root) for a few
    supervisor ticks: the supervisor keeps the run and records it once it can write again."""
    folder = two / ".worktrees" / "two"
    frozen = tmp_path / "frozen"
    fake_claude.script({"api": [{"do": "work", "run_before_reply": [
        "sh", "-c", f"chattr +i '{folder}' && touch '{frozen}'"]}]})
    starter = spawn(two, ("start", "specs/two.md", "--wait"), tmp_path / "start.log")
    try:
        deadline = time.monotonic() + 60
        while not frozen.exists():
            assert time.monotonic() < deadline and starter.poll() is None, \
                (tmp_path / "start.log").read_text()
            time.sleep(0.05)
        time.sleep(1.5)  # several supervisor ticks meet the frozen folder
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    ran = finished(starter, tmp_path / "start.log", time.monotonic(), timeout=60)
    assert ran.code == 0, ran
    assert statuses(records(two, "two")) == {"api": "done", "web": "done"}


def test_resume_all_after_the_supervisor_was_killed_resumes_the_unrecorded(
        two: Path, fake_claude: FakeClaude) -> None:
    """The supervisor dies (SIGKILL) while both sessions run; they end with nobody watching.
    `resume --all` records what they did first, then resumes what needs it — it never says
    "nothing to resume" while status says their runs are not recorded."""
    import os
    import signal

    from dispatch.sessions import client
    from dispatch.state.paths import FeaturePaths

    fake_claude.script({"api": [{"sleep": 1.5, "reply": "api_500", "do": "nowork"}],
                        "web": [{"sleep": 1.5}]})
    assert run_dispatch(two, "start", "specs/two.md", timeout=60).code == 0
    pid = client.supervisor_pid(FeaturePaths(two, "two"))
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while len(fake_claude.calls()) < 2 or any(
            (two / ".worktrees/two/logs" / f"{n}.1.json").stat().st_size == 0
            for n in ("api", "web")):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.3)  # both processes exit after printing
    resumed = run_dispatch(two, "resume", "--all", timeout=60)
    assert resumed.code == 0, resumed
    assert resumed.output.startswith("resuming api;"), resumed
    found = records(two, "two")
    assert found["web"]["status"] == "done"  # its success was recorded, not resumed
    assert found["api"]["attempts"] == 2
