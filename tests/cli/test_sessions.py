"""Sessions end to end: the supervisor runs the fake claude in real worktrees.

One test per behaviour. How a run's outcome changes its record and which workstreams may
start are pure functions with tables of their own (tests/unit/test_transitions.py,
tests/unit/test_scheduler.py); a misbehaving claude is in the hostile corpus
(tests/reliability/test_hostile.py). Sessions that must still run while a test looks at them
wait on a barrier (`fake_claude.barrier`), never on a clock.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dispatch.core import procs
from dispatch.sessions import client
from dispatch.state.paths import FeaturePaths
from tests.support.cli import Result
from tests.support.fakes import FakeClaude
from tests.support.gitrepo import commit, git, write
from tests.support.sessions import THREE, records, settle, statuses
from tests.support.waiting import wait_for

Cli = Callable[..., Result]


@pytest.fixture(autouse=True)
def no_session_left_holding(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that fails before it releases a barrier must not leave sessions waiting."""
    fake = request.getfixturevalue("fake_claude") if "fake_claude" in request.fixturenames \
        else None
    yield
    if fake is not None:
        fake.release_barriers()


@pytest.fixture
def spec(repo: Path) -> Path:
    commit(repo, {"specs/three.md": THREE}, "spec")
    return repo / "specs" / "three.md"


@pytest.mark.usefixtures("spec")
def test_start_launches_in_background_and_records_sessions(
        repo: Path, cli: Cli, fake_claude: FakeClaude) -> None:
    barrier = fake_claude.barrier("sessions")
    fake_claude.script({"*": [barrier.step()]})
    result = cli("start", "specs/three.md")
    assert result.code == 0, result
    now = records(repo)  # it returned while the sessions still run
    assert statuses(now) == {"api": "running", "web": "running", "docs": "waiting"}
    assert now["docs"]["error"] == "waiting for api (running)"
    for name in ("api", "web"):
        assert now[name]["session_id"] and now[name]["started_at"]
        assert procs.is_alive(now[name]["pid"], now[name]["pid_started"])
    assert "dispatch status three --watch" in result.out

    barrier.release()
    done = settle(repo)
    assert statuses(done) == {"api": "done", "web": "done", "docs": "done"}
    calls = fake_claude.calls()
    assert [(c["workstream"], c["resume"]) for c in calls][2:] == [("docs", False)]
    by_ws = {c["workstream"]: c for c in calls}
    for name, record in done.items():
        assert by_ws[name]["session_id"] == record["session_id"]
        assert by_ws[name]["cwd"] == str(repo / ".worktrees" / "three" / name)
        assert record["total_cost_usd"] == 0.01 and record["num_turns"] == 3
        assert record["commits"] == 1 and record["finished_at"] and record["pid"] is None
        assert record["last_checkpoint"] == "All tasks done."
        assert json.loads((repo / record["last_output"]).read_text().splitlines()[-1])[
            "type"] == "result"  # the stream's last line
        assert (repo / ".worktrees/three/results" / f"{name}.md").is_file()
    # docs started from a branch that already held api's work
    assert (repo / ".worktrees/three/docs/work/api.txt").is_file()
    git(repo, "merge-base", "--is-ancestor", "three/api", "three/docs")
    assert done["docs"]["deps_merged"] == ["api"]


@pytest.mark.usefixtures("spec", "fake_claude")
def test_wait_stays_until_all_finish(repo: Path, cli: Cli) -> None:
    result = cli("start", "specs/three.md", "--wait", "--json")
    assert result.code == 0, result
    assert statuses(records(repo)) == {"api": "done", "web": "done", "docs": "done"}
    assert '"status": "done"' in result.out


@pytest.mark.usefixtures("spec")
def test_not_logged_in_fails_without_retry(repo: Path, cli: Cli,
                                           fake_claude: FakeClaude) -> None:
    fake_claude.script({"api": [{"reply": "not_logged_in", "do": "nowork"}]})
    assert cli("start", "specs/three.md", "--retry-delay", "0").code == 0
    done = settle(repo)
    assert statuses(done) == {"api": "failed", "web": "done", "docs": "blocked"}
    assert done["api"]["error"] == (
        "Not logged in · Please run /login — log in (run `claude` and /login) or set "
        "ANTHROPIC_API_KEY, then 'dispatch resume --all'")
    assert done["api"]["attempts"] == 1 and done["api"]["transient"] is False
    assert done["api"]["fixable"] is True
    assert done["docs"]["error"] == "dependency api is failed"
    assert [c["workstream"] for c in fake_claude.calls()].count("api") == 1


@pytest.mark.usefixtures("spec")
def test_transient_errors_are_retried_by_resuming_the_same_session(
        repo: Path, cli: Cli, fake_claude: FakeClaude) -> None:
    fake_claude.script({"web": [{"reply": "api_500", "do": "nowork", "cost": 0.02},
                                {"reply": "api_529", "do": "nowork"},
                                {"reply": "success", "do": "work"}]})
    assert cli("start", "specs/three.md", "--retry-delay", "0.1").code == 0
    done = settle(repo)
    assert done["web"]["status"] == "done" and done["web"]["attempts"] == 3
    web = [c for c in fake_claude.calls() if c["workstream"] == "web"]
    assert [c["resume"] for c in web] == [False, True, True]
    assert {c["session_id"] for c in web} == {done["web"]["session_id"]}
    assert done["web"]["total_cost_usd"] == 0.04  # runs are summed: 0.02 + 0.01 + 0.01


@pytest.mark.usefixtures("spec")
def test_incomplete_work_gets_one_follow_up(repo: Path, cli: Cli,
                                            fake_claude: FakeClaude) -> None:
    fake_claude.script({"web": [{"do": "nowork"}, {"do": "work"}]})
    assert cli("start", "specs/three.md").code == 0
    done = settle(repo)
    assert done["web"]["status"] == "done" and done["web"]["attempts"] == 2
    follow_up = [c for c in fake_claude.calls() if c["workstream"] == "web"][1]
    assert follow_up["resume"] is True
    assert "- no commits on the branch three/web: commit your work there" in \
        follow_up["prompt"]
    assert "- no .workstream/RESULTS.md: write it" in follow_up["prompt"]


@pytest.mark.usefixtures("fake_claude")
def test_verify_command_decides_done(repo: Path, cli: Cli) -> None:
    commit(repo, {"specs/three.md": "---\nverify: test -f work/api.txt\n---\n" + THREE})
    assert cli("start", "specs/three.md", "--no-follow-up").code == 0
    done = settle(repo)
    assert statuses(done) == {"api": "done", "web": "needs_attention", "docs": "done"}
    assert done["web"]["error"] == ("the verify command `test -f work/api.txt` fails (see "
                                    ".worktrees/three/logs/web.verify.log): fix it")


def test_dependency_conflict_needs_attention(repo: Path, cli: Cli,
                                             fake_claude: FakeClaude) -> None:
    commit(repo, {"shared.txt": "base\n", "specs/three.md": THREE})
    fake_claude.script({"api": [{"do": "conflict"}]})
    write(repo, {})
    assert cli("start", "specs/three.md", "--no-agents").code == 0
    docs = repo / ".worktrees/three/docs"
    write(docs, {"shared.txt": "docs edited it first\n"})
    git(docs, "commit", "-qam", "docs edit")
    assert cli("start", "three").code == 0
    done = settle(repo)
    assert done["docs"]["status"] == "needs_attention"
    assert done["docs"]["error"] == (
        "merging api conflicts in shared.txt; resolve it in .worktrees/three/docs and commit, "
        "then 'dispatch resume docs'")
    assert git(docs, "status", "--porcelain") == ""  # the failed merge was taken back


@pytest.mark.usefixtures("spec")
def test_feature_budget_stops_launches(repo: Path, cli: Cli,
                                       fake_claude: FakeClaude) -> None:
    fake_claude.script({"*": [{"cost": 0.3}]})
    assert cli("start", "specs/three.md", "--max-parallel", "1", "--budget-usd", "0.5").code == 0
    done = settle(repo)
    assert statuses(done) == {"api": "done", "web": "done", "docs": "waiting"}
    assert done["docs"]["error"] == "feature budget reached ($0.60 of $0.50)"
    refused = cli("resume", "docs")
    assert (refused.code, refused.err) == (1, (
        "dispatch: error: the feature's budget is spent ($0.60 of $0.50); raise it with "
        "'dispatch start three --budget-usd <more>'\n"))


@pytest.mark.usefixtures("spec")
def test_max_parallel_from_the_environment(repo: Path, cli: Cli,
                                           fake_claude: FakeClaude,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_CLAUDE_WORKERS", "1")
    barrier = fake_claude.barrier("one-slot")
    fake_claude.script({"*": [barrier.step()]})
    assert cli("start", "specs/three.md").code == 0
    held = records(repo)
    assert statuses(held) == {"api": "running", "web": "pending", "docs": "waiting"}
    assert held["web"]["error"] == "waiting for a free slot (--max-parallel)"
    barrier.wait_started("api")
    assert statuses(records(repo))["web"] == "pending"  # still: api holds the one slot
    barrier.release()
    settle(repo)
    starts = {c["workstream"]: c["time"] for c in fake_claude.calls()}
    ends = {e["workstream"]: e["time"] for e in fake_claude.ends()}
    assert sorted(starts, key=starts.__getitem__) == ["api", "web", "docs"]
    assert starts["web"] > ends["api"] and starts["docs"] > ends["web"]  # one at a time


@pytest.mark.usefixtures("spec")
def test_resume_runs_the_recorded_session_in_its_worktree(repo: Path, cli: Cli,
                                                          fake_claude: FakeClaude) -> None:
    assert cli("start", "specs/three.md", "--wait").code == 0
    session = records(repo)["web"]["session_id"]
    result = cli("resume", "web", "--prompt", "add a dark mode", "--wait")
    assert result.code == 0, result
    last = fake_claude.calls()[-1]
    assert (last["resume"], last["session_id"], last["cwd"], last["prompt"]) == (
        True, session, str(repo / ".worktrees/three/web"), "add a dark mode")
    assert records(repo)["web"]["attempts"] == 2


@pytest.mark.usefixtures("spec")
def test_resume_refuses_a_running_session_unless_forced(repo: Path, cli: Cli,
                                                        fake_claude: FakeClaude) -> None:
    never = fake_claude.barrier("never")  # web runs until it is stopped
    fake_claude.script({"web": [never.step(), {"do": "work"}]})
    assert cli("start", "specs/three.md").code == 0
    never.wait_started("web")  # its run counted: the resumed one does the work
    pid = records(repo)["web"]["pid"]
    refused = cli("resume", "web")
    assert (refused.code, refused.err) == (
        1, f"dispatch: error: web is running (pid {pid}); wait for it, or pass --force to "
           "stop it first\n")
    forced = cli("resume", "web", "--force", "--wait")
    assert forced.code == 0, forced
    assert not procs.is_alive(pid, None)
    assert records(repo)["web"]["status"] == "done"


@pytest.mark.usefixtures("spec")
def test_stop_then_resume(repo: Path, cli: Cli, fake_claude: FakeClaude) -> None:
    never = fake_claude.barrier("never")  # they run until they are stopped
    fake_claude.script({name: [never.step(), {"do": "work"}] for name in ("api", "web")})
    assert cli("start", "specs/three.md").code == 0
    never.wait_started("api", "web")  # their runs counted: a resumed one does the work
    pids = [r["pid"] for r in records(repo).values() if r["pid"]]
    assert len(pids) == 2
    result = cli("stop", "three")
    assert (result.code, result.out) == (0, "stopped api, web\n")
    assert not any(procs.is_alive(pid, None) for pid in pids)
    assert client.supervisor_pid(FeaturePaths(repo, "three")) is None
    assert statuses(records(repo)) == {"api": "stopped", "web": "stopped", "docs": "waiting"}
    assert cli("resume", "api", "--wait").code == 0
    assert records(repo)["api"]["status"] == "done"


@pytest.mark.usefixtures("spec")
def test_resume_all_picks_the_resumable(repo: Path, cli: Cli,
                                        fake_claude: FakeClaude) -> None:
    fake_claude.script({"api": [{"do": "nowork"}], "web": [{"reply": "api_500",
                                                            "do": "nowork"}]})
    assert cli("start", "specs/three.md", "--no-follow-up", "--retries", "0").code == 0
    assert statuses(settle(repo)) == {"api": "needs_attention", "web": "failed",
                                      "docs": "waiting"}
    result = cli("resume", "--all")
    assert result.out == "resuming api, web; follow with: dispatch status three --watch\n"
    assert statuses(settle(repo)) == {"api": "done", "web": "done", "docs": "done"}


@pytest.mark.usefixtures("spec")
def test_status_json_and_interrupted(repo: Path, cli: Cli,
                                     fake_claude: FakeClaude) -> None:
    barrier = fake_claude.barrier("sessions")  # api and web run until the end of the test
    fake_claude.script({"*": [barrier.step()]})
    assert cli("start", "specs/three.md").code == 0
    paths = FeaturePaths(repo, "three")
    supervisor = client.supervisor_pid(paths)
    assert supervisor is not None
    web_pid = records(repo)["web"]["pid"]
    os.kill(supervisor, signal.SIGKILL)
    os.killpg(web_pid, signal.SIGKILL)
    wait_for(lambda: not procs.is_alive(supervisor, None) and not procs.is_alive(web_pid, None),
             "the killed supervisor and session are still alive")
    result = cli("status", "--json")
    data = json.loads(result.out)
    web = next(w for w in data["workstreams"] if w["name"] == "web")
    assert web["status"] == "interrupted" and web["pid_alive"] is False
    assert set(web) >= {"name", "status", "session_id", "branch", "path", "ports", "cost_usd",
                        "tasks_done", "tasks_total", "commits_ahead", "uncommitted_files",
                        "results_md", "last_checkpoint", "started_at", "duration_s"}
    assert data["totals"]["by_status"]["interrupted"] == 1  # api still runs: not interrupted
    assert statuses(records(repo)) == {"api": "running", "web": "interrupted", "docs": "waiting"}
    barrier.release()


@pytest.mark.usefixtures("repo", "spec", "fake_claude")
def test_logs_show_the_transcript_and_the_raw_stream(cli: Cli) -> None:
    assert cli("start", "specs/three.md", "--wait").code == 0
    result = cli("logs", "web")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[:2] == ["==> .worktrees/three/logs/web.1.jsonl (run 1) <==",
                         "── prompt: Read .workstream/TASKS.md and complete every task in it "
                         "for workstream \"Web\"."]
    assert "── result: success · 3 turns · $0.01 · All tasks done." in lines
    assert ".worktrees/three/logs/web.1.stderr" not in result.out  # empty: not shown
    raw = cli("logs", "web", "--raw").out.splitlines()
    assert json.loads(raw[1])["type"] == "dispatch" and json.loads(raw[-1])["type"] == "result"


@pytest.mark.usefixtures("spec")
def test_a_killed_supervisor_is_replaced_and_no_session_starts_twice(
        repo: Path, cli: Cli, fake_claude: FakeClaude) -> None:
    barrier = fake_claude.barrier("sessions")
    fake_claude.script({"*": [barrier.step()]})
    assert cli("start", "specs/three.md").code == 0
    paths = FeaturePaths(repo, "three")
    supervisor = client.supervisor_pid(paths)
    assert supervisor is not None
    os.kill(supervisor, signal.SIGKILL)
    wait_for(lambda: not procs.is_alive(supervisor, None), "the killed supervisor lives")
    assert cli("start", "three").code == 0  # a new one adopts the sessions, which still run
    barrier.release()
    done = settle(repo)
    assert statuses(done) == {"api": "done", "web": "done", "docs": "done"}
    assert sorted(c["workstream"] for c in fake_claude.calls()) == ["api", "docs", "web"]
    new_sessions = [c["session_id"] for c in fake_claude.calls() if not c["resume"]]
    assert sorted(new_sessions) == sorted(r["session_id"] for r in done.values())


FOUR_WITH_JOIN = """\
# Four
## Workstreams
### Workstream 1: Api
- [ ] endpoint
- [ ] tests
### Workstream 2: Web
- [ ] page
### Workstream 3: Cli
- [ ] command
### Workstream 4: Docs (After workstreams 1-2)
- [ ] guide
"""


def test_four_workstreams_with_a_join_end_done(repo: Path, cli: Cli,
                                               fake_claude: FakeClaude) -> None:
    """docs waits for both api and web: api ends first, and docs still waits for web."""
    commit(repo, {"specs/four.md": FOUR_WITH_JOIN})
    api, web = fake_claude.barrier("api"), fake_claude.barrier("web")
    work: dict[str, object] = {"cost": 0.05, "turns": 7}
    fake_claude.script({"api": [api.step(**work)], "web": [web.step(**work)], "*": [work]})
    assert cli("start", "specs/four.md").code == 0
    api.release()

    def api_seen_done() -> bool:  # and the supervisor has looked at docs again since
        found = records(repo, "four")
        return bool(found["api"]["status"] == "done" and
                    found["docs"]["error"] != "waiting for api (running)")

    wait_for(api_seen_done, "the supervisor did not see api end")
    held = records(repo, "four")
    assert (held["web"]["status"], held["docs"]["status"], held["docs"]["error"]) == (
        "running", "waiting", "waiting for web (running)")
    web.release()
    done = settle(repo, "four")
    assert statuses(done) == {"api": "done", "web": "done", "cli": "done", "docs": "done"}
    calls = {c["workstream"]: c for c in fake_claude.calls()}
    assert {n: calls[n]["session_id"] for n in done} == {n: r["session_id"]
                                                         for n, r in done.items()}
    ends = {e["workstream"]: e["time"] for e in fake_claude.ends()}
    assert calls["docs"]["time"] > max(ends["api"], ends["web"])  # docs began after both ended
    for dep in ("api", "web"):
        git(repo, "merge-base", "--is-ancestor", f"four/{dep}", "four/docs")
    data = json.loads(cli("status", "four", "--json").out)
    by_name = {w["name"]: w for w in data["workstreams"]}
    assert (by_name["api"]["cost_usd"], by_name["api"]["tasks_done"],
            by_name["api"]["tasks_total"]) == (0.05, 2, 2)
    assert data["totals"]["cost_usd"] == 0.2 and data["totals"]["tasks_done"] == 5


def test_a_workstream_titled_results_keeps_its_own_worktree(repo: Path, cli: Cli) -> None:
    """Regression: its worktree was the feature's results/ folder, so the other
    workstream's RESULTS copy landed in it and it ended needs_attention."""
    commit(repo, {"specs/r.md": "# R\n## Workstreams\n### Results\n- [ ] a\n"
                                "### Api\n- [ ] b\n"}, "spec")
    assert cli("start", "specs/r.md", "--rehearse", "--wait").code == 0
    found = records(repo, "r")
    assert statuses(found) == {"results-ws": "done", "api": "done"}
    kept = repo / ".worktrees/r/results"
    assert sorted(p.name for p in kept.iterdir()) == ["api.md", "results-ws.md"]
    assert not (repo / ".worktrees/r/results-ws/api.md").exists()


@pytest.mark.usefixtures("spec")
def test_stop_while_the_supervisor_lock_holder_has_not_written_its_pid(
        repo: Path, cli: Cli) -> None:
    """Regression: the probe answered -1 for "held, pid not written yet" and stop signalled
    process group -1 (exit 70). A holder that never names itself is left alone."""
    assert cli("start", "specs/three.md", "--no-agents").code == 0
    lock = FeaturePaths(repo, "three").lock("supervisor")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
        "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(60)"),
        str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        result = cli("stop")
        assert (result.code, result.out, result.err) == (0, "nothing was running\n", "")
        assert holder.poll() is None  # not signalled: it could be anyone's
    finally:
        holder.kill()
        holder.wait()
