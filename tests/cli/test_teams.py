"""Competing teams (README: Competing teams): a workstream attempted by two teams, compared
on evidence, the best attempt picked, integrated, and built on by its dependants."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import Result
from tests.support.fakes import FakeClaude
from tests.support.gitrepo import commit, git
from tests.support.waiting import wait_for

Cli = Callable[..., Result]
VERIFY = "! git grep -q BROKEN -- '*.txt'"


def spec(judge: bool = False, ui_needs_audio: bool = True) -> str:
    front = f'---\nverify: "{VERIFY}"\n' + ("judge: true\n" if judge else "") + "---\n"
    return front + """# Duo
## Workstreams
### Workstream 1: Audio
**Files**: `work/**`
**Teams**: 2
**Approaches**: PyAudio, callbacks; sounddevice, blocking reads
- [ ] capture
### Workstream 2: Ui
**Files**: `ui/**`
**Depends on**: audio
- [ ] show the level
### Workstream 3: Web
**Files**: `web/**`
- [ ] page
""".replace("" if ui_needs_audio else "**Depends on**: audio\n", "")


def state(repo: Path) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((repo / ".worktrees/duo/sessions.json").read_text())
    return found


def judge_answer(winner: object, cost: float = 0.07) -> dict[str, object]:
    """A scripted judge run: what the pinned CLI prints for `--json-schema` (the answer in
    `structured_output`, its text in `result`); it touches no file."""
    answer = {"winner": winner, "reasons": ["team 2 handles device errors"],
              "risks": ["blocking reads on slow machines"]}
    return {"do": "nowork", "raw": json.dumps({
        "type": "result", "subtype": "success", "is_error": False, "duration_ms": 900,
        "num_turns": 2, "session_id": "$SESSION", "total_cost_usd": cost,
        "result": json.dumps(answer), "structured_output": answer}) + "\n"}


def calls_of(fake: FakeClaude, name: str) -> list[dict[str, Any]]:
    return [call for call in fake.calls() if call["workstream"] == name]


def test_the_passing_team_is_picked_merged_and_built_on(repo: Path, cli: Cli,
                                                         fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/duo.md": spec()})
    # Team 1's work turns verify red, and stays red after the follow-up; team 2's passes.
    fake_claude.script({"audio.t1": [{"do": "broken"}, {"do": "work"}, {"do": "work"}]})
    started = cli("start", "specs/duo.md", "--wait", "--no-setup")
    found = state(repo)
    records = found["workstreams"]
    assert set(records) == {"audio.t1", "audio.t2", "ui", "web"}, started
    assert records["audio.t1"]["status"] != "done"
    assert {n: records[n]["status"] for n in ("audio.t2", "ui", "web")} == dict.fromkeys(
        ("audio.t2", "ui", "web"), "done")
    team = found["teams"]["audio"]
    assert (team["picked"], team["picked_by"]) == ("audio.t2", "rule")
    assert team["reason"] == "the only team that passes the done check and verify"

    # Each team had its own branch, worktree and approach, and the same tasks.
    assert records["audio.t1"]["branch"] == "duo/audio.t1"
    assert records["audio.t2"]["path"] == ".worktrees/duo/audio.t2"
    prompts = {c["workstream"]: c["prompt"] for c in reversed(fake_claude.calls())}
    assert "PyAudio, callbacks" in prompts["audio.t1"]
    assert "sounddevice, blocking reads" in prompts["audio.t2"]
    tasks = (repo / ".worktrees/duo/audio.t2/.workstream/TASKS.md").read_text()
    assert "capture" in tasks and "team 2 of 2" in tasks

    # The dependant built on the winner: its worktree holds team 2's commit, not team 1's.
    ui = repo / ".worktrees/duo/ui"
    assert (ui / "work/audio.t2.txt").exists()
    assert not (ui / "work/audio.t1.txt").exists()
    t2_tip = git(repo, "rev-parse", "duo/audio.t2")
    assert git(repo, "merge-base", "--is-ancestor", t2_tip, "duo/ui") == ""
    assert records["ui"]["deps_merged"] == ["audio"]

    document = (repo / ".worktrees/duo/compare/audio.md").read_text()
    assert "**Pick: audio.t2 (team 2), by the rule**" in document
    assert f"| verify `{VERIFY}` | failed" in document
    assert "## Team 1: `audio.t1`" in document and "Did the work" in document

    integrated = cli("integrate")
    assert integrated.code == 0, integrated
    merges = state(repo)["integration"]["merges"]
    assert merges["audio.t2"]["status"] == "merged"
    assert merges["audio.t1"]["status"] == "skipped"
    assert merges["audio.t1"]["reason"] == "not picked: audio.t2 stands for audio"
    assert {merges[n]["status"] for n in ("ui", "web")} == {"merged"}
    files = git(repo, "ls-tree", "-r", "--name-only", "duo/integration").split()
    assert "work/audio.t2.txt" in files and "work/audio.t1.txt" not in files

    shown = json.loads(cli("status", "--json").out)
    assert shown["teams"]["audio"]["picked"] == "audio.t2"
    rows = {w["name"]: w for w in shown["workstreams"]}
    assert (rows["audio.t1"]["team_of"], rows["audio.t1"]["picked"]) == ("audio", False)
    assert rows["audio.t2"]["picked"] is True
    for fmt in ("plain", "markdown"):
        out = cli("status", "--format", fmt).out
        assert "audio" in out and "picked audio.t2" in out, out
        assert out.index("picked audio.t2") < out.index("audio.t1")  # the teams under it

    # ui merged team 2 into its branch: another pick would bring both attempts in.
    refused = cli("pick", "audio", "1")
    assert refused.code == 1 and "ui already build(s) on audio.t2" in refused.err
    assert state(repo)["teams"]["audio"]["picked"] == "audio.t2"


def test_the_judge_picks_team_two_which_is_integrated(repo: Path, cli: Cli,
                                                       fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/duo.md": spec(judge=True)})
    fake_claude.script({"audio.judge": [judge_answer(2)]})
    started = cli("start", "specs/duo.md", "--wait", "--no-setup")
    found = state(repo)
    team = found["teams"]["audio"]
    assert (team["picked"], team["picked_by"]) == ("audio.t2", "judge"), started
    assert team["judge"]["winner"] == 2 and team["judge"]["total_cost_usd"] == 0.07
    # The rule alone would have picked team 1 (same conflicts, same cost, lower number).
    assert team["ranking"] == ["audio.t1", "audio.t2"]

    (judge,) = calls_of(fake_claude, "audio.judge")
    argv = judge["argv"]
    assert argv[:3] == ["-p", "--output-format", "json"]
    assert json.loads(argv[argv.index("--json-schema") + 1])["required"] == [
        "winner", "reasons", "risks"]
    assert argv[argv.index("--tools") + 1] == ""  # it reads what it is given, nothing else
    assert "RESULTS.md written by team 2" in judge["prompt"]
    assert "+run 1" in judge["prompt"]  # the diffs
    assert Path(judge["cwd"]) == repo / ".worktrees/duo/compare"

    # Its cost is every session's: in the feature's total and the budget.
    shown = json.loads(cli("status", "--json").out)
    runs = sum(w["cost_usd"] for w in shown["workstreams"])
    assert shown["totals"]["cost_usd"] == pytest.approx(runs + 0.07)
    document = (repo / ".worktrees/duo/compare/audio.md").read_text()
    assert "**Pick: audio.t2 (team 2), by the judge**" in document
    assert "- team 2 handles device errors" in document

    assert cli("integrate").code == 0
    merges = state(repo)["integration"]["merges"]
    assert (merges["audio.t2"]["status"], merges["audio.t1"]["status"]) == (
        "merged", "skipped")


def test_a_malformed_judge_answer_is_no_judgement(repo: Path, cli: Cli,
                                                 fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/duo.md": spec(judge=True)})
    fake_claude.script({"audio.judge": [judge_answer("team two")]})
    cli("start", "specs/duo.md", "--wait", "--no-setup")
    team = state(repo)["teams"]["audio"]
    assert (team["picked"], team["picked_by"]) == ("audio.t1", "rule")
    assert team["judge"]["problem"].startswith("its winner 'team two' is not a team number")
    assert team["judge"]["total_cost_usd"] == 0.07  # a useless answer still cost money
    document = (repo / ".worktrees/duo/compare/audio.md").read_text()
    assert "No judgement: its winner 'team two' is not a team number" in document


def test_pick_after_integration_swaps_the_merge_and_keeps_the_others(
        repo: Path, cli: Cli, fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/duo.md": spec(judge=True, ui_needs_audio=False)})
    fake_claude.script({"audio.judge": [judge_answer(2)]})
    cli("start", "specs/duo.md", "--wait", "--no-setup")
    assert cli("integrate").code == 0
    before = git(repo, "rev-parse", "duo/integration")

    refused = cli("pick", "audio", "3")
    assert refused.code != 0 and "audio has teams 1 to 2" in refused.err
    picked = cli("pick", "audio", "1")
    assert picked.code == 0, picked
    assert "picked audio.t1 for audio (instead of audio.t2)" in picked.out
    found = state(repo)
    merges = found["integration"]["merges"]
    assert merges["audio.t1"]["status"] == "merged"
    assert merges["audio.t2"]["status"] == "skipped"
    assert merges["web"]["status"] == merges["ui"]["status"] == "merged"  # the others stay
    assert (found["teams"]["audio"]["picked"], found["teams"]["audio"]["picked_by"]) == (
        "audio.t1", "person")
    files = git(repo, "ls-tree", "-r", "--name-only", "duo/integration").split()
    assert {"work/audio.t1.txt", "work/web.txt", "work/ui.txt"} <= set(files)
    assert "work/audio.t2.txt" not in files
    assert git(repo, "rev-parse", "duo/integration") != before
    assert git(repo / ".worktrees/duo/integration", "status", "--porcelain") == ""
    subjects = git(repo, "log", "--first-parent", "--format=%s", "duo/integration")
    assert sorted(subjects.splitlines()[:3]) == [
        "Merge audio.t1 workstream", "Merge ui workstream", "Merge web workstream"]


def test_pick_refuses_to_lose_a_commit_made_on_the_integration_branch(
        repo: Path, cli: Cli, fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/duo.md": spec(ui_needs_audio=False)})
    fake_claude.script({})
    cli("start", "specs/duo.md", "--wait", "--no-setup")
    assert cli("integrate").code == 0
    integration = repo / ".worktrees/duo/integration"
    commit(integration, {"hand.txt": "made by hand\n"})
    before = git(repo, "rev-parse", "duo/integration")
    refused = cli("pick", "audio", "2")
    assert refused.code != 0
    assert "not dispatch's recorded merges" in refused.err and "would lose them" in refused.err
    assert git(repo, "rev-parse", "duo/integration") == before
    assert state(repo)["teams"]["audio"]["picked"] == "audio.t1"


def test_pick_before_integration_is_recorded_and_integrated(repo: Path, cli: Cli,
                                                            fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/duo.md": spec(ui_needs_audio=False)})
    fake_claude.script({})
    cli("start", "specs/duo.md", "--wait", "--no-setup")
    assert state(repo)["teams"]["audio"]["picked"] == "audio.t1"
    assert cli("pick", "audio", "2").code == 0
    assert cli("integrate").code == 0
    merges = state(repo)["integration"]["merges"]
    assert (merges["audio.t2"]["status"], merges["audio.t1"]["status"]) == (
        "merged", "skipped")


def test_compare_on_demand_shows_the_facts_in_every_format(repo: Path, cli: Cli,
                                                          fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/duo.md": spec()})
    fake_claude.script({"audio.t1": [{"do": "broken"}, {"do": "work"}, {"do": "work"}]})
    cli("start", "specs/duo.md", "--wait", "--no-setup")
    data = json.loads(cli("compare", "audio", "--json").out)
    assert [(a["name"], a["passes"]) for a in data["attempts"]] == [
        ("audio.t1", False), ("audio.t2", True)]
    assert data["picked"] == "audio.t2" and data["judge"] is None
    plain = cli("compare", "audio", "--format", "plain").out
    assert "pick: audio.t2" in plain and "t1: failed" in plain
    markdown = cli("compare", "audio", "--format", "markdown").out
    assert markdown.startswith("**Competing teams of audio**") and "| fact |" in markdown
    assert cli("compare", "web").err.startswith("dispatch: error: workstream 'web'")


def test_clean_deletes_the_attempt_recorded_as_not_picked_and_keeps_its_results(
        repo: Path, cli: Cli, fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/duo.md": spec()})
    fake_claude.script({"audio.t1": [{"do": "broken"}, {"do": "work"}, {"do": "work"}]})
    cli("start", "specs/duo.md", "--wait", "--no-setup")
    assert cli("integrate").code == 0
    dry = cli("clean", "--dry-run").out
    assert "would delete branch duo/audio.t1 (not picked: audio.t2 stands for audio)" in dry
    cleaned = cli("clean")
    assert cleaned.code == 0, cleaned
    assert "deleted branch duo/audio.t1 (not picked: audio.t2 stands for audio)" in cleaned.out
    branches = git(repo, "branch", "--format=%(refname:short)").split()
    assert "duo/audio.t1" not in branches and "duo/integration" in branches
    (archive,) = (repo / ".worktrees/.archive").iterdir()
    assert "Did the work" in (archive / "workstreams/audio.t1/RESULTS.md").read_text()
    assert "**Pick: audio.t2" in (archive / "compare/audio.md").read_text()


def test_clean_keeps_attempts_while_none_is_picked(repo: Path, cli: Cli,
                                                  fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/duo.md": spec()})
    broken: list[dict[str, object]] = [{"do": "broken"}, {"do": "work"}, {"do": "work"}]
    fake_claude.script({"audio.t1": broken, "audio.t2": broken})
    cli("start", "specs/duo.md", "--wait", "--no-setup")
    found = state(repo)
    assert found["teams"]["audio"]["picked"] is None
    assert found["teams"]["audio"]["reason"].startswith("no team passed the done check")
    assert found["workstreams"]["ui"]["status"] == "waiting"  # for a person to pick
    cleaned = cli("clean")
    branches = git(repo, "branch", "--format=%(refname:short)").split()
    assert {"duo/audio.t1", "duo/audio.t2"} <= set(branches), cleaned
    assert "kept branch duo/audio.t1: 2 commit(s) in no other branch" in cleaned.err


def test_the_autopilot_lands_the_pick_then_its_dependants(repo: Path, cli: Cli,
                                                         fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/duo.md": spec()})
    fake_claude.script({"audio.t1": [{"do": "broken"}, {"do": "work"}, {"do": "work"}]})
    started = cli("start", "specs/duo.md", "--integrate", "--wait", "--no-setup")
    merges = state(repo)["integration"]["merges"]
    assert {n: m["status"] for n, m in merges.items() if m["status"] == "merged"} == {
        "audio.t2": "merged", "ui": "merged", "web": "merged"}, started
    files = git(repo, "ls-tree", "-r", "--name-only", "duo/integration").split()
    assert "work/audio.t2.txt" in files and "work/audio.t1.txt" not in files


def test_the_budget_counts_every_team_and_stops_the_judge(repo: Path, cli: Cli,
                                                          fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/duo.md": spec(judge=True, ui_needs_audio=False)})
    fake_claude.script({"audio.judge": [judge_answer(2)]})
    cli("start", "specs/duo.md", "--wait", "--no-setup", "--budget-usd", "0.02")
    found = state(repo)
    team = found["teams"]["audio"]
    assert team["judge"]["problem"].startswith("feature budget reached")
    assert team["judge"]["attempts"] == 0 and not calls_of(fake_claude, "audio.judge")
    assert (team["picked"], team["picked_by"]) == ("audio.t1", "rule")
    document = (repo / ".worktrees/duo/compare/audio.md").read_text()
    assert "No judgement: feature budget reached" in document


def test_a_pick_cut_short_while_the_branch_moves_is_finished_by_the_next_command(
        repo: Path, cli: Cli, fake_claude: FakeClaude, monkeypatch: pytest.MonkeyPatch) -> None:
    commit(repo, {"specs/duo.md": spec(ui_needs_audio=False)})
    fake_claude.script({})
    cli("start", "specs/duo.md", "--wait", "--no-setup")
    assert cli("integrate", "--only", "audio").code == 0  # the pick stands for its workstream
    assert state(repo)["integration"]["merges"]["audio.t1"]["status"] == "merged"

    def dies(*_args: object) -> None:
        raise KeyboardInterrupt  # the process ends after the intent is saved

    with monkeypatch.context() as patch:
        patch.setattr("dispatch.gitops.tree.reset_hard", dies)
        assert cli("pick", "audio", "2").code == 130
    pending = state(repo)["integration"]["rebuild"]
    assert (pending["old"], pending["new"]) == ("audio.t1", "audio.t2")
    assert git(repo, "rev-parse", "duo/integration") == pending["old_head"]  # not moved yet

    assert cli("integrate").code == 0  # finishes the change of pick first, then merges
    found = state(repo)
    assert found["integration"]["rebuild"] is None
    assert found["teams"]["audio"]["picked"] == "audio.t2"
    merges = found["integration"]["merges"]
    assert (merges["audio.t2"]["status"], merges["audio.t1"]["status"]) == (
        "merged", "skipped")
    files = git(repo, "ls-tree", "-r", "--name-only", "duo/integration").split()
    assert "work/audio.t2.txt" in files and "work/audio.t1.txt" not in files
    assert {"work/ui.txt", "work/web.txt"} <= set(files)


def test_repair_rebuilds_the_teams_attempts(repo: Path, cli: Cli,
                                            fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/duo.md": spec(ui_needs_audio=False)})
    fake_claude.script({})
    cli("start", "specs/duo.md", "--wait", "--no-setup")
    (repo / ".worktrees/duo/sessions.json").unlink()
    repaired = cli("repair", "duo")
    assert repaired.code == 0, repaired
    found = state(repo)
    assert found["teams"]["audio"]["attempts"] == ["audio.t1", "audio.t2"]
    assert found["teams"]["audio"]["picked"] is None  # compared again, or picked by a person
    assert (found["workstreams"]["audio.t2"]["team_of"],
            found["workstreams"]["audio.t2"]["team"]) == ("audio", 2)
    assert found["workstreams"]["audio.t2"]["status"] == "done"


@pytest.mark.usefixtures("fake_claude")
def test_teams_and_a_queue_are_refused_together(repo: Path, cli: Cli) -> None:
    commit(repo, {"specs/duo.md": spec()})
    refused = cli("start", "specs/duo.md", "--queue", "--no-setup")
    assert refused.code == 1 and "audio run(s) as competing teams" in refused.err
    assert not (repo / ".worktrees/duo").exists()


def test_a_workstream_lands_while_a_team_is_still_at_work(repo: Path, cli: Cli,
                                                          fake_claude: FakeClaude) -> None:
    """web is done before audio's teams have ended (no pick yet, ui waiting for it): its
    landing orders the queue by dependencies that name a team's workstream, not an attempt."""
    commit(repo, {"specs/duo.md": spec()})
    teams = fake_claude.barrier("teams")
    fake_claude.script({"audio.t1": [teams.step()], "audio.t2": [teams.step()]})
    assert cli("start", "specs/duo.md", "--integrate", "--no-setup").code == 0
    teams.wait_started("audio.t1", "audio.t2")
    wait_for(lambda: (state(repo).get("integration") or {}).get("merges", {}).get(
        "web", {}).get("status") == "merged", "web did not land while the teams worked")
    teams.release()
    wait_for(lambda: {n: m["status"] for n, m in state(repo)["integration"]["merges"].items()
                      if m["status"] == "merged"} == dict.fromkeys(("web", "audio.t1", "ui"),
                                                                   "merged"),
             "the pick and its dependant did not land")
    landing = (repo / ".worktrees/duo/logs/landing.log").read_text()
    assert "Traceback" not in landing, landing
