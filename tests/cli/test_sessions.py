"""Sessions end to end: the supervisor runs the fake claude in real worktrees."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from dispatch.core import procs
from dispatch.sessions import client
from dispatch.state.paths import FeaturePaths
from tests.support.cli import Result
from tests.support.fakes import FakeClaude
from tests.support.gitrepo import commit, git, write
from tests.support.sessions import THREE, records, settle, statuses

Cli = Callable[..., Result]


@pytest.fixture
def spec(repo: Path) -> Path:
    commit(repo, {"specs/three.md": THREE}, "spec")
    return repo / "specs" / "three.md"


@pytest.mark.usefixtures("spec")
def test_start_launches_in_background_and_records_sessions(
        repo: Path, cli: Cli, fake_claude: FakeClaude) -> None:
    fake_claude.script({"*": [{"sleep": 3, "do": "work"}]})
    result = cli("start", "specs/three.md")
    assert result.code == 0, result
    now = records(repo)  # it returned while the sessions still run
    assert statuses(now) == {"api": "running", "web": "running", "docs": "waiting"}
    assert now["docs"]["error"] == "waiting for api (running)"
    for name in ("api", "web"):
        assert now[name]["session_id"] and now[name]["pid"] and now[name]["started_at"]
    assert "dispatch status three --watch" in result.out

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
def test_retries_give_up_after_the_limit(repo: Path, cli: Cli,
                                         fake_claude: FakeClaude) -> None:
    fake_claude.script({"web": [{"reply": "refused", "do": "nowork"}] * 5})
    assert cli("start", "specs/three.md", "--retry-delay", "0", "--retries", "2").code == 0
    done = settle(repo)
    assert done["web"]["status"] == "failed" and done["web"]["attempts"] == 3
    assert done["web"]["error"] == ("API Error: Unable to connect to API (ConnectionRefused) "
                                    "(gave up after 3 attempts)")


@pytest.mark.parametrize(("reply", "error"), [
    ("max_turns", "reached the maximum number of turns (Reached maximum number of turns (3))"),
    ("budget", "reached its --max-budget-usd (Reached maximum budget ($0.50))"),
    ("empty", "fatal: the fake crashed on purpose"),
    ("garbage", "fatal: the fake crashed on purpose"),
])
@pytest.mark.usefixtures("spec")
def test_permanent_failures(repo: Path, cli: Cli, fake_claude: FakeClaude,
                            reply: str, error: str) -> None:
    fake_claude.script({"web": [{"reply": reply, "do": "nowork"}]})
    assert cli("start", "specs/three.md", "--retry-delay", "0").code == 0
    done = settle(repo)
    assert (done["web"]["status"], done["web"]["error"]) == ("failed", error)


@pytest.mark.usefixtures("spec")
def test_fifty_megabytes_of_output(repo: Path, cli: Cli,
                                   fake_claude: FakeClaude) -> None:
    fake_claude.script({"web": [{"reply": "huge", "do": "nowork"}]})
    assert cli("start", "specs/three.md").code == 0
    done = settle(repo)
    assert done["web"]["status"] == "failed"
    assert done["web"]["error"] == ("printed more than 20 MB and no result; exit code 1 "
                                    "and no result on stdout")


@pytest.mark.usefixtures("spec")
def test_a_hanging_session_is_stopped_after_the_timeout(repo: Path, cli: Cli,
                                                        fake_claude: FakeClaude) -> None:
    fake_claude.script({"web": [{"sleep": 60}]})
    assert cli("start", "specs/three.md", "--session-timeout", "1").code == 0
    done = settle(repo)
    assert done["web"]["status"] == "failed"
    assert done["web"]["error"].startswith("stopped after running ")
    assert not any(str(repo / ".worktrees/three/web") == p.cwd() for p in
                   __import__("psutil").process_iter() if _safe_cwd(p))


def _safe_cwd(process: object) -> bool:
    try:
        return bool(process.cwd())  # type: ignore[attr-defined]
    except Exception:
        return False


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


@pytest.mark.usefixtures("spec")
def test_without_follow_up_incomplete_work_needs_attention(repo: Path, cli: Cli,
                                                           fake_claude: FakeClaude) -> None:
    fake_claude.script({"web": [{"do": "commit"}]})
    assert cli("start", "specs/three.md", "--no-follow-up").code == 0
    done = settle(repo)
    assert (done["web"]["status"], done["web"]["error"]) == (
        "needs_attention", "no .workstream/RESULTS.md: write it")


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
    fake_claude.script({"*": [{"sleep": 0.5}]})
    assert cli("start", "specs/three.md").code == 0
    assert records(repo)["web"]["error"] == "waiting for a free slot (--max-parallel)"
    settle(repo)
    times = sorted((c["time"], c["workstream"]) for c in fake_claude.calls())
    assert [w for _, w in times] == ["api", "web", "docs"]


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
    fake_claude.script({"web": [{"sleep": 30}, {"do": "work"}]})
    assert cli("start", "specs/three.md").code == 0
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
    fake_claude.script({"*": [{"sleep": 30}, {"do": "work"}]})
    assert cli("start", "specs/three.md").code == 0
    pids = [r["pid"] for r in records(repo).values() if r["pid"]]
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
    fake_claude.script({"web": [{"sleep": 30}]})
    assert cli("start", "specs/three.md").code == 0
    paths = FeaturePaths(repo, "three")
    supervisor = client.supervisor_pid(paths)
    assert supervisor is not None
    os.kill(supervisor, signal.SIGKILL)
    os.killpg(records(repo)["web"]["pid"], signal.SIGKILL)
    time.sleep(0.3)
    result = cli("status", "--json")
    import json

    data = json.loads(result.out)
    web = next(w for w in data["workstreams"] if w["name"] == "web")
    assert web["status"] == "interrupted" and web["pid_alive"] is False
    assert set(web) >= {"name", "status", "session_id", "branch", "path", "ports", "cost_usd",
                        "tasks_done", "tasks_total", "commits_ahead", "uncommitted_files",
                        "results_md", "last_checkpoint", "started_at", "duration_s"}
    assert data["totals"]["by_status"]["interrupted"] == 1
    assert records(repo)["web"]["status"] == "interrupted"


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
def test_missing_claude_refuses_before_any_change(repo: Path, cli: Cli,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    result = cli("start", "specs/three.md")
    # After the plan's warnings (this spec lists no files): the error.
    assert result.code == 1 and result.err.splitlines()[-1].startswith(
        "dispatch: error: claude (Claude Code) is not on PATH;")
    assert not (repo / ".worktrees").exists()
    assert git(repo, "branch", "--list", "three/*") == ""


@pytest.mark.usefixtures("spec")
def test_a_killed_supervisor_is_replaced_and_no_session_starts_twice(
        repo: Path, cli: Cli, fake_claude: FakeClaude) -> None:
    fake_claude.script({"*": [{"sleep": 1.0}]})
    assert cli("start", "specs/three.md").code == 0
    paths = FeaturePaths(repo, "three")
    os.kill(client.supervisor_pid(paths) or 0, signal.SIGKILL)
    time.sleep(0.2)
    assert cli("start", "three").code == 0  # adopts the running sessions
    done = settle(repo)
    assert statuses(done) == {"api": "done", "web": "done", "docs": "done"}
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
    commit(repo, {"specs/four.md": FOUR_WITH_JOIN})
    fake_claude.script({"*": [{"sleep": 0.3, "cost": 0.05, "turns": 7}]})
    result = cli("start", "specs/four.md", "--wait")
    assert result.code == 0, result
    done = settle(repo, "four")
    assert statuses(done) == {"api": "done", "web": "done", "cli": "done", "docs": "done"}
    calls = {c["workstream"]: c for c in fake_claude.calls()}
    assert {n: calls[n]["session_id"] for n in done} == {n: r["session_id"]
                                                         for n, r in done.items()}
    finished = {n: __import__("datetime").datetime.fromisoformat(r["finished_at"]).timestamp()
                for n, r in done.items()}
    assert calls["docs"]["time"] >= max(finished["api"], finished["web"]) - 1  # (seconds)
    for dep in ("api", "web"):
        git(repo, "merge-base", "--is-ancestor", f"four/{dep}", "four/docs")
    import json

    data = json.loads(cli("status", "four", "--json").out)
    by_name = {w["name"]: w for w in data["workstreams"]}
    assert (by_name["api"]["cost_usd"], by_name["api"]["tasks_done"],
            by_name["api"]["tasks_total"]) == (0.05, 2, 2)
    assert data["totals"]["cost_usd"] == 0.2 and data["totals"]["tasks_done"] == 5


def test_overloaded_twice_then_success_resumes_the_same_session(
        repo: Path, cli: Cli, fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/three.md": THREE})
    fake_claude.script({"api": [{"reply": "api_529", "do": "nowork"},
                                {"reply": "api_529", "do": "nowork"}, {"do": "work"}]})
    assert cli("start", "specs/three.md", "--retry-delay", "0.05").code == 0
    done = settle(repo)
    api = [c for c in fake_claude.calls() if c["workstream"] == "api"]
    assert [c["resume"] for c in api] == [False, True, True]
    assert {c["session_id"] for c in api} == {done["api"]["session_id"]}
    assert (done["api"]["status"], done["api"]["attempts"]) == ("done", 3)


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
