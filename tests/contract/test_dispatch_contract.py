"""Contract tests of dispatch's own code paths against the real `claude` CLI.

Where test_standin_smoke.py checks the CLI with hand-built command lines, these run
`dispatch start` / `dispatch resume` / `dispatch stop` (in-process, like the `cli` fixture)
on a real git repository with a one-workstream spec: dispatch builds the argv, its detached
supervisor runs the pinned CLI in the workstream's worktree, and the CLI talks to the
loopback stand-in API (standin_api.py). The supervisor inherits this process's environment,
so the CLI's environment is set here with monkeypatch (`point_claude`, see realclaude.py);
any request to something other than 127.0.0.1 would go to a `ProxyTrap`, which must stay
unused. A few tests drive dispatch's runner directly (claude_cli.argv → launch.spawn →
run_result.outcome_of → transitions.apply), the same functions the supervisor calls.

A CLI run takes about a second; dispatch adds its supervisor's start-up and polling.
The stopping tests pin real CLI behaviour dispatch once mishandled: it exits 143 on SIGTERM
(a killed run, not a crash), it has saved the session by then (so the relaunch resumes it),
and it runs Bash tool commands in process groups of their own (so stopping must end them).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from dispatch.core import procs
from dispatch.sessions import claude_cli, client, launch, run_result, transitions
from dispatch.state.model import RunSettings, SessionRecord, now
from dispatch.state.paths import FeaturePaths
from tests.contract.dispatch_support import (
    CLOSED_PORT_URL,
    COMMIT_MESSAGE,
    FEATURE,
    FINAL_TEXT,
    FIRST_PROMPT,
    RESULTS_MD,
    TIMEOUT,
    WS,
    PointClaude,
    diagnose,
    eventually,
    feature_base,
    position,
    precondition,
    project_dir,
    record,
    run_output,
    saved_sessions,
    says,
    session_call,
    session_headers,
    start,
    stderr_of,
    system_text,
    texts,
    tool_processes,
    wait_for,
    work_script,
)
from tests.contract.realclaude import CLAUDE, ProxyTrap, claude_env, needs_claude
from tests.contract.standin_api import StandinAPI, Text, bash, http_error
from tests.support.cli import Result
from tests.support.gitrepo import git

Cli = Callable[..., Result]

# --------------------------------------------------------------------------- start, resume


@pytest.mark.real_claude
@needs_claude
def test_start_runs_the_real_cli_in_the_worktree_to_done(
        repo: Path, spec: str, cli: Cli, point_claude: PointClaude, claude_home: Path) -> None:
    with StandinAPI(work_script()) as api:
        point_claude(api.base_url)
        result = start(cli, spec, "--retries", "0")
    assert result.code == 0, diagnose(repo, result)
    rec, out = record(repo), run_output(repo, 1)

    # The argv dispatch built was accepted and the run succeeded without a permission prompt.
    assert (out["type"], out["subtype"], out["is_error"]) == ("result", "success", False)
    assert out["result"] == FINAL_TEXT and out["permission_denials"] == []
    assert (rec["status"], rec["error"], rec["attempts"]) == ("done", None, 1)
    assert rec["last_checkpoint"] == FINAL_TEXT
    # One session id: dispatch's record, the CLI's result, and every request's header.
    assert rec["session_id"] == out["session_id"]
    assert session_headers(api) == [rec["session_id"]] * 4  # one model call per step
    # Cost, turns and time come from the result object.
    assert out["total_cost_usd"] > 0
    assert rec["total_cost_usd"] == round(out["total_cost_usd"], 6)
    assert rec["num_turns"] == out["num_turns"] == 4
    assert rec["duration_ms"] == out["duration_ms"]

    # The tools ran inside the worktree, on the workstream's branch.
    worktree = repo / rec["path"]
    assert worktree == repo / ".worktrees" / FEATURE / WS
    base = feature_base(repo)
    assert git(worktree, "log", "--format=%s", f"{base}..{rec['branch']}") == COMMIT_MESSAGE
    assert git(worktree, "show", "--name-only", "--format=", "HEAD") == "feature.txt"
    assert git(worktree, "status", "--porcelain") == ""
    assert rec["commits"] == 1
    assert not (repo / "feature.txt").exists()  # the user's checkout is untouched
    assert git(repo, "rev-parse", "HEAD") == base
    assert (repo / ".worktrees" / FEATURE / "results" / f"{WS}.md").read_text() == RESULTS_MD

    # What reached the model: dispatch's system prompt (appended to the CLI's), its task
    # prompt, the model alias, the working directory and the --add-dir feature folder.
    first = api.main_requests()[0]
    system = system_text(first)
    assert f'You are the worker for workstream\n"Greeting" (`{WS}`), working in {worktree}' \
        in system
    assert f"Primary working directory: {worktree}\n" in system
    assert f"Additional working directories:\n  - {worktree.parent}\n" in system
    assert says(first, FIRST_PROMPT)
    assert "sonnet" in first["model"]
    # The CLI saved the conversation under the worktree's project folder (resume needs it).
    saved = saved_sessions(claude_home, rec["session_id"])
    assert [p.parent.name for p in saved] == [project_dir(worktree)]


@pytest.mark.real_claude
@needs_claude
def test_resume_continues_the_same_session_and_sums_its_cost(
        repo: Path, spec: str, cli: Cli, point_claude: PointClaude) -> None:
    with StandinAPI(work_script()) as first_api:
        point_claude(first_api.base_url)
        assert start(cli, spec, "--retries", "0").code == 0
    session = record(repo)["session_id"]
    with StandinAPI([Text("Checked again: all good.")]) as api:
        point_claude(api.base_url)
        result = cli("resume", WS, "--prompt", "Double-check your work.", "--wait")
    assert result.code == 0, diagnose(repo, result)
    rec, runs = record(repo), [run_output(repo, 1), run_output(repo, 2)]

    assert (rec["status"], rec["attempts"]) == ("done", 2)
    assert rec["last_checkpoint"] == "Checked again: all good."
    assert rec["session_id"] == session == runs[1]["session_id"]
    assert session_headers(api) == [session]
    # The request carries the earlier conversation (its prompt and tool results), then the
    # new prompt. Not its final reply: the CLI sometimes exits before saving its last
    # message (about 1 run in 10 under load); resuming then adds "Continue from where you
    # left off." and a made-up "No response requested." before the new prompt.
    body = api.main_requests()[0]
    said = texts(body)
    order = [position(said, needle) for needle in (FIRST_PROMPT, "Double-check your work.")]
    assert -1 not in order and order == sorted(order), (order, said)
    tool_results = [str(b.get("content")) for m in body["messages"]
                    if isinstance(m["content"], list)
                    for b in m["content"] if b.get("type") == "tool_result"]
    assert len(tool_results) == 3, tool_results  # Write, Write and Bash of the first run
    assert tool_results[0].startswith("File created successfully at: feature.txt")
    assert tool_results[1].startswith("File created successfully at: .workstream/RESULTS.md")
    # Each run reports its own process's cost (not the session's): dispatch sums them.
    assert all(r["total_cost_usd"] > 0 for r in runs)
    assert rec["total_cost_usd"] == round(sum(r["total_cost_usd"] for r in runs), 6)
    assert rec["num_turns"] == sum(r["num_turns"] for r in runs) == 5


@pytest.mark.real_claude
@needs_claude
def test_every_session_option_dispatch_passes_is_accepted(
        repo: Path, spec: str, cli: Cli, point_claude: PointClaude) -> None:
    """--model (a full id), --permission-mode, --allowedTools (patterns), --max-turns and
    --max-budget-usd, as dispatch writes them; the turn limit ends the run."""
    with StandinAPI(work_script()) as api:
        point_claude(api.base_url)
        result = start(cli, spec, "--model", "claude-sonnet-4-5", "--permission-mode",
                       "acceptEdits", "--allowed-tools", "Bash(git:*),Write", "--max-turns", "1",
                       "--max-budget-usd", "5", "--retry-delay", "0")
    assert result.code == 1, diagnose(repo, result)
    rec, out = record(repo), run_output(repo, 1)
    assert (out["subtype"], out["errors"]) == ("error_max_turns",
                                               ["Reached maximum number of turns (1)"])
    assert (rec["status"], rec["transient"], rec["attempts"]) == ("failed", False, 1)
    assert rec["error"] == ("reached the maximum number of turns (Reached maximum number of "
                            "turns (1))")
    assert rec["num_turns"] == out["num_turns"] and rec["total_cost_usd"] > 0
    assert [b["model"] for b in api.main_requests()] == ["claude-sonnet-4-5"]
    assert (repo / rec["path"] / "feature.txt").is_file()  # the one turn's tool did run


# --------------------------------------------------------------------------- failures


@pytest.mark.real_claude
@needs_claude
@pytest.mark.parametrize(("status", "error"), [
    (401, "Invalid API key · Fix external API key"),
    (None, "Not logged in · Please run /login"),
])
def test_auth_failures_are_recorded_failed_without_retry(
        repo: Path, spec: str, cli: Cli, point_claude: PointClaude,
        status: int | None, error: str) -> None:
    """A 401 from the API, or no API key at all (then no model call is made)."""
    with StandinAPI([] if status is None else [http_error(status)]) as api:
        point_claude(api.base_url, api_key=status is not None)
        result = start(cli, spec, "--retry-delay", "0")
    assert result.code == 1, diagnose(repo, result)
    rec, out = record(repo), run_output(repo, 1)
    assert (out["is_error"], out["api_error_status"]) == (True, status)
    fix = ("log in (run `claude` and /login) or set ANTHROPIC_API_KEY, then 'dispatch "
           "resume --all'")
    assert (rec["status"], rec["error"], rec["transient"], rec["fixable"]) == (
        "failed", f"{error} — {fix}", False, True)
    assert rec["attempts"] == 1  # not retried, although --retries is 4
    assert rec["session_id"] == out["session_id"]
    assert session_headers(api) == ([] if status is None else [rec["session_id"]])


@pytest.mark.real_claude
@needs_claude
def test_api_500_is_retried_by_resuming_the_same_session_then_fails(
        repo: Path, spec: str, cli: Cli, point_claude: PointClaude) -> None:
    with StandinAPI([http_error(500), http_error(500)]) as api:
        point_claude(api.base_url)
        result = start(cli, spec, "--retries", "1", "--retry-delay", "0")
    assert result.code == 1, diagnose(repo, result)
    rec, runs = record(repo), [run_output(repo, 1), run_output(repo, 2)]
    message = runs[1]["result"]
    assert message.startswith("API Error: 500 Internal server error.")
    assert [r["api_error_status"] for r in runs] == [500, 500]
    assert (rec["status"], rec["transient"], rec["attempts"]) == ("failed", True, 2)
    assert rec["error"] == f"{message} (gave up after 2 attempts)"
    # The retry resumed the same session: same id, and it carries the first prompt again.
    assert session_headers(api) == [rec["session_id"]] * 2
    assert {r["session_id"] for r in runs} == {rec["session_id"]}
    first, retry = api.main_requests()
    assert says(first, FIRST_PROMPT) and says(retry, FIRST_PROMPT)
    assert says(retry, "stopped before it finished")  # dispatch's resume prompt


@pytest.mark.real_claude
@needs_claude
def test_refused_connection_is_transient_and_retried(
        repo: Path, spec: str, cli: Cli, point_claude: PointClaude) -> None:
    """Nothing listens on the API port: an error without an HTTP status, still retried."""
    point_claude(CLOSED_PORT_URL)
    result = start(cli, spec, "--retries", "1", "--retry-delay", "0")
    assert result.code == 1, diagnose(repo, result)
    rec, runs = record(repo), [run_output(repo, 1), run_output(repo, 2)]
    message = "API Error: Unable to connect to API (ConnectionRefused)"
    assert [(r["result"], r["api_error_status"]) for r in runs] == [(message, None)] * 2
    assert (rec["status"], rec["transient"], rec["attempts"]) == ("failed", True, 2)
    assert rec["error"] == f"{message} (gave up after 2 attempts)"
    assert {r["session_id"] for r in runs} == {rec["session_id"]}  # resumed, not restarted


# --------------------------------------------------------------------------- rejected argv


@pytest.mark.real_claude
@needs_claude
def test_an_option_the_cli_rejects_is_a_failed_run(tmp_path: Path, claude_home: Path,
                                                   trap: ProxyTrap) -> None:
    """dispatch's runner (claude_cli.argv → launch.spawn → run_result.outcome_of →
    transitions.apply) with one unknown option: the real CLI refuses it before any network
    use, and dispatch records the run failed with the CLI's message. So if dispatch's argv
    ever gained an option this CLI does not know, the tests above would fail."""
    call = session_call([str(CLAUDE), "--definitely-not-an-option"], tmp_path)
    files = run_result.RunFiles(tmp_path / "run.json", tmp_path / "run.stderr")
    env = claude_env(CLOSED_PORT_URL, claude_home, proxy=trap.url)
    returncode = launch.spawn(claude_cli.argv(call), tmp_path, env, files).wait(timeout=TIMEOUT)

    outcome = run_result.outcome_of(returncode, files)
    assert returncode == 1
    assert (outcome.kind, outcome.transient) == ("crash", False)
    assert outcome.message == "error: unknown option '--definitely-not-an-option'"
    rec = SessionRecord(name=WS, branch=f"{FEATURE}/{WS}", path="w", attempts=1,
                        status="running", session_id=call.session_id)
    transitions.apply(rec, outcome, RunSettings(), now())
    assert (rec.status, rec.error, rec.session_created) == ("failed", outcome.message, False)


@pytest.mark.real_claude
@needs_claude
def test_a_rejected_option_through_dispatch_start_is_recorded_failed(
        repo: Path, spec: str, cli: Cli, point_claude: PointClaude, tmp_path: Path) -> None:
    """The same through the whole of `dispatch start`: `--claude` names a wrapper that puts
    the bad option in front of dispatch's argv."""
    wrapper = tmp_path / "bin" / "claude"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\nexec "{CLAUDE}" --definitely-not-an-option "$@"\n')
    wrapper.chmod(0o755)
    with StandinAPI([]) as api:
        point_claude(api.base_url)
        result = cli("start", spec, "--claude", str(wrapper), "--wait", "--retry-delay", "0")
    assert result.code == 1, diagnose(repo, result)
    rec = record(repo)
    assert (rec["status"], rec["attempts"], rec["transient"]) == ("failed", 1, False)
    assert rec["error"] == "error: unknown option '--definitely-not-an-option'"
    assert stderr_of(repo, 1).strip() == rec["error"]
    assert [r for r in api.requests if r.kind != "other"] == []  # refused before any call


# --------------------------------------------------------------------------- stopping


@pytest.mark.real_claude
@needs_claude
def test_a_run_stopped_by_dispatch_reads_as_killed(tmp_path: Path, claude_home: Path,
                                                   trap: ProxyTrap, long_command: str) -> None:
    """dispatch's runner, stopped the way `dispatch stop` stops it (procs.stop_group, called
    from the run's parent, which must still see the real exit status)."""
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    call = session_call([str(CLAUDE)], tmp_path)
    files = run_result.RunFiles(tmp_path / "run.json", tmp_path / "run.stderr")
    with StandinAPI([bash(long_command)]) as api:
        env = claude_env(api.base_url, claude_home, proxy=trap.url)
        process = launch.spawn(claude_cli.argv(call), tmp_path, env, files)
        wait_for(lambda: bool(tool_processes(long_command)), "the Bash tool command")
        procs.stop_group(process.pid)
        returncode = process.wait(timeout=TIMEOUT)
    printed = files.stdout.read_bytes()
    # In stream-json mode the events so far are on stdout already (the init event, the tool
    # call); what a stopped run never prints is its result.
    precondition(returncode == 143 and b'"type":"result"' not in printed.replace(b" ", b""),
                 f"on SIGTERM the CLI exits with code 143 (here {returncode}) and prints no "
                 f"result event (here {printed[-200:]!r})")
    precondition(bool(saved_sessions(claude_home, call.session_id)),
                 "the CLI has saved the session by the time it runs a tool")
    outcome = run_result.outcome_of(returncode, files)
    assert outcome.kind == "killed", outcome


@pytest.mark.real_claude
@needs_claude
def test_a_stopped_session_is_resumed_not_restarted(
        repo: Path, spec: str, cli: Cli, point_claude: PointClaude, claude_home: Path,
        long_command: str) -> None:
    with StandinAPI([bash(long_command)]) as api:
        point_claude(api.base_url)
        started = cli("start", spec, "--claude", str(CLAUDE), "--retries", "0")
        precondition(started.code == 0, f"dispatch start: {started}")
        session = record(repo)["session_id"]
        wait_for(lambda: bool(tool_processes(long_command)), "the Bash tool command")
        precondition(bool(saved_sessions(claude_home, session)),
                     "the CLI has saved the session by the time it runs a tool")
        stopped = cli("stop", FEATURE, WS)
        precondition(stopped.out == f"stopped {WS}\n", f"dispatch stop: {stopped}")
        paths = FeaturePaths(repo, FEATURE)
        wait_for(lambda: client.supervisor_pid(paths) is None, "the supervisor to exit")
    precondition(record(repo)["status"] == "stopped", f"stopped: {record(repo)}")
    with StandinAPI(work_script()) as api:
        point_claude(api.base_url)
        result = cli("resume", WS, "--wait")
    rec = record(repo)
    assert (rec["status"], rec["error"]) == ("done", None), diagnose(repo, result)
    assert rec["attempts"] == 2  # the first relaunch resumed the session
    assert session_headers(api) == [session] * 4
    assert says(api.main_requests()[0], FIRST_PROMPT)  # with the earlier conversation


@pytest.mark.real_claude
@needs_claude
def test_dispatch_stop_ends_the_commands_the_session_runs(
        repo: Path, spec: str, cli: Cli, point_claude: PointClaude, long_command: str) -> None:
    with StandinAPI([bash(long_command)]) as api:
        point_claude(api.base_url)
        started = cli("start", spec, "--claude", str(CLAUDE), "--retries", "0")
        precondition(started.code == 0, f"dispatch start: {started}")
        wait_for(lambda: bool(tool_processes(long_command)), "the Bash tool command")
        session_pid = record(repo)["pid"]
        tool = tool_processes(long_command)[0]
        precondition(os.getsid(tool.pid) == os.getpgid(tool.pid) == tool.pid != session_pid,
                     "the CLI's Bash tool shell leads a session of its own")
        stopped = cli("stop", FEATURE, WS)
        precondition(stopped.out == f"stopped {WS}\n", f"dispatch stop: {stopped}")
    precondition(not procs.is_alive(session_pid, None), "SIGTERM ends the CLI itself")
    assert eventually(lambda: not tool.is_running(), timeout=2), "the tool command still runs"


pytestmark = pytest.mark.usefixtures("no_supervisor_left")
