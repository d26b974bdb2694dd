"""Contract tests: the real `claude` CLI, fully offline, against the loopback stand-in API.

Each test starts a `StandinAPI` with a script, runs the pinned CLI (npm
``@anthropic-ai/claude-code@2.1.197``; path from ``DISPATCH_TEST_CLAUDE``; see realclaude.py
for what happens when it is missing) in a fresh git repository with a fresh HOME /
CLAUDE_CONFIG_DIR, and checks what dispatch relies on:
the ``--output-format json`` result object, tool execution, error shapes, resume and the
``stream-json`` init event. A run takes about one second.

Unattended tools: ``--permission-mode acceptEdits`` alone lets ``Write`` run but denies
``git add -A && git commit`` ("This Bash command contains multiple operations. The
following parts require approval: ...", listed in ``permission_denials``). Adding
``--allowedTools=Bash,Write`` (``=`` form: the flag takes several values and would swallow
the prompt) runs both. ``--permission-mode bypassPermissions`` also works, but refuses to
start as root unless ``IS_SANDBOX=1`` is set.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.contract.realclaude import CLAUDE, claude_env, needs_claude
from tests.contract.standin_api import (
    DONE_TEXT,
    INPUT_TOKENS,
    JSON,
    SIDE_TEXT,
    StandinAPI,
    Step,
    Text,
    bash,
    http_error,
    sse_events,
    write,
)

UNATTENDED = ["--permission-mode", "acceptEdits", "--allowedTools=Bash,Write"]


@dataclass(frozen=True)
class Run:
    """One finished CLI run."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def result(self) -> JSON:
        """The single result object printed by ``--output-format json``."""
        parsed: JSON = json.loads(self.stdout)
        return parsed


def run_claude(
    api: StandinAPI,
    cwd: Path,
    home: Path,
    args: Sequence[str],
    extra_env: dict[str, str] | None = None,
) -> Run:
    """Run the CLI in print mode against `api` and wait for it (stdin closed)."""
    start = time.monotonic()
    proc = subprocess.run(
        [str(CLAUDE), "-p", *args],
        cwd=cwd,
        env=claude_env(api.base_url, home, extra_env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)


def run_json(
    script: Sequence[Step],
    repo: Path,
    home: Path,
    flags: Sequence[str],
    *,
    session: str | None = None,
    side_text: str = SIDE_TEXT,
    extra_env: dict[str, str] | None = None,
) -> tuple[Run, StandinAPI]:
    """One ``--output-format json`` run from `repo`, prompt "go", new session by default."""
    with StandinAPI(script, side_text=side_text) as api:
        args = ["--output-format", "json", "--session-id", session or str(uuid.uuid4())]
        run = run_claude(api, repo, home, [*args, *flags, "--", "go"], extra_env)
    return run, api


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with one commit and a local identity (HOME is empty)."""
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q")
    git(path, "config", "user.name", "Test")
    git(path, "config", "user.email", "test@example.invalid")
    git(path, "commit", "-q", "--allow-empty", "-m", "init")
    return path


@pytest.fixture
def home(tmp_path: Path) -> Path:
    path = tmp_path / "home"
    path.mkdir()
    return path


def message_texts(body: JSON) -> list[str]:
    """The text blocks of all messages of a request body, in order."""
    texts: list[str] = []
    for message in body["messages"]:
        content: Any = message["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        texts += [b.get("text", "") for b in blocks if b.get("type") == "text"]
    return texts


# --------------------------------------------------------------------------- the real CLI


@pytest.mark.real_claude
@needs_claude
def test_text_reply_gives_success_result(repo: Path, home: Path) -> None:
    session = str(uuid.uuid4())
    run, api = run_json([Text("Hello from the stand-in")], repo, home, [], session=session)
    result = run.result()
    assert run.returncode == 0, run.stderr
    assert run.seconds < 30  # about 1 s in practice
    assert (result["type"], result["subtype"], result["is_error"]) == ("result", "success", False)
    assert result["session_id"] == session
    assert result["result"] == "Hello from the stand-in"
    assert result["num_turns"] >= 1
    assert result["total_cost_usd"] > 0
    assert result["api_error_status"] is None
    assert result["usage"]["input_tokens"] == INPUT_TOKENS
    (main,) = [r for r in api.requests if r.kind == "main"]
    assert main.path == "/v1/messages?beta=true"
    assert main.headers["anthropic-version"] == "2023-06-01"
    assert "claude-code-20250219" in main.headers["anthropic-beta"]
    assert main.headers["x-api-key"] == "test-key"
    assert main.headers["x-claude-code-session-id"] == session
    assert main.body is not None and main.body["stream"] is True


@pytest.mark.real_claude
@needs_claude
def test_write_and_bash_tools_make_a_commit(repo: Path, home: Path) -> None:
    script = [write("hello.txt", "hi\n"), bash("git add -A && git commit -m x")]
    run, api = run_json(script, repo, home, UNATTENDED)
    result = run.result()
    assert run.returncode == 0, run.stderr
    assert result["result"] == DONE_TEXT  # the script ran out: the stand-in says "done"
    assert result["num_turns"] == 3
    assert result["permission_denials"] == []
    assert (repo / "hello.txt").read_text() == "hi\n"
    assert git(repo, "log", "--format=%s").split() == ["x", "init"]
    after_write, after_bash = (b["messages"][-1]["content"][0] for b in api.main_requests()[1:])
    assert after_write["type"] == "tool_result"
    assert after_write["content"].startswith("File created successfully at: hello.txt")
    assert after_bash["is_error"] is False and "1 file changed" in after_bash["content"]


@pytest.mark.real_claude
@needs_claude
def test_bypass_permissions_with_is_sandbox_runs_tools(repo: Path, home: Path) -> None:
    script: list[Step] = [write("a.txt", "a"), bash("git add -A && git commit -m x"), Text("ok")]
    # IS_SANDBOX=1: without it bypassPermissions refuses to start as root.
    flags = ["--permission-mode", "bypassPermissions"]
    run, _ = run_json(script, repo, home, flags, extra_env={"IS_SANDBOX": "1"})
    assert run.returncode == 0, run.stderr
    assert run.result()["result"] == "ok"
    assert git(repo, "log", "--format=%s").split() == ["x", "init"]


@pytest.mark.real_claude
@needs_claude
def test_auto_mode_side_requests_do_not_use_the_script(repo: Path, home: Path) -> None:
    """``--permission-mode auto`` asks a safety classifier (a non-streamed side request)."""
    script: list[Step] = [bash("git commit -q --allow-empty -m y"), Text("classified")]
    # The classifier is told to answer "<block>yes|no"; with the default "ok" it blocks.
    flags = ["--permission-mode", "auto"]
    run, api = run_json(script, repo, home, flags, side_text="<block>no</block>")
    assert run.returncode == 0, run.stderr
    assert run.result()["result"] == "classified"
    assert git(repo, "log", "--format=%s").split() == ["y", "init"]
    side = api.bodies("side")
    assert side and all("stream" not in b and not b.get("tools") for b in side)
    assert all(b["thinking"] == {"type": "disabled"} for b in side)


@pytest.mark.real_claude
@needs_claude
@pytest.mark.parametrize(
    ("status", "message"),
    [
        (401, "Invalid API key · Fix external API key"),
        (500, "API Error: 500 Internal server error. This is a server-side issue"),
        (529, "API Error: 529 Overloaded. This is a server-side issue"),
    ],
)
def test_http_errors_give_is_error(repo: Path, home: Path, status: int, message: str) -> None:
    run, api = run_json([http_error(status)], repo, home, [])
    result = run.result()
    assert run.returncode == 1
    assert (result["subtype"], result["is_error"]) == ("success", True)
    assert result["api_error_status"] == status
    assert result["result"].startswith(message)
    assert result["total_cost_usd"] == 0
    assert len(api.main_requests()) == 1  # CLAUDE_CODE_MAX_RETRIES=0: no retry


@pytest.mark.real_claude
@needs_claude
def test_resume_sends_the_earlier_conversation(repo: Path, home: Path, tmp_path: Path) -> None:
    session = str(uuid.uuid4())
    with StandinAPI([Text("first answer")]) as api:
        first = ["--output-format", "json", "--session-id", session, "--", "first prompt"]
        before = run_claude(api, repo, home, first)
    with StandinAPI([Text("second answer")]) as api:
        again = ["--output-format", "json", "--resume", session, "--", "second prompt"]
        run = run_claude(api, repo, home, again)
    assert (before.returncode, run.returncode) == (0, 0), run.stderr
    assert (run.result()["session_id"], run.result()["result"]) == (session, "second answer")
    # total_cost_usd covers this process only, not the whole resumed session.
    assert run.result()["total_cost_usd"] == before.result()["total_cost_usd"]
    texts = message_texts(api.main_requests()[0])
    assert texts.index("first prompt") < texts.index("first answer") < texts.index("second prompt")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with StandinAPI([]) as api:
        lost = run_claude(api, elsewhere, home, again)
    assert lost.returncode == 1
    assert f"No conversation found with session ID: {session}" in lost.stderr


@pytest.mark.real_claude
@needs_claude
def test_stream_json_init_lists_project_slash_commands(repo: Path, home: Path) -> None:
    commands = repo / ".claude" / "commands" / "project"
    commands.mkdir(parents=True)
    (commands / "dispatch.md").write_text("---\ndescription: x\n---\nDispatch: $ARGUMENTS\n")
    with StandinAPI([Text("dispatched")]) as api:
        args = ["--output-format", "stream-json", "--verbose", *UNATTENDED]
        run = run_claude(api, repo, home, [*args, "--", "/project:dispatch foo bar"])
    assert run.returncode == 0, run.stderr
    events = [json.loads(line) for line in run.stdout.splitlines()]
    init = events[0]
    assert (init["type"], init["subtype"]) == ("system", "init")
    assert "project:dispatch" in init["slash_commands"]  # .claude/commands/project/dispatch.md
    assert "dispatch" not in init["slash_commands"]
    assert {"Bash", "Write"} <= set(init["tools"])
    assert events[-1]["type"] == "result" and events[-1]["result"] == "dispatched"
    assert "Dispatch: foo bar\n" in message_texts(api.main_requests()[0])


# --------------------------------------------------------------------------- the stand-in


LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy


def _post(url: str, body: JSON) -> tuple[int, str]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    try:
        with LOOPBACK.open(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_standin_plain_json_errors_and_other_paths() -> None:
    main = {"model": "m", "messages": [], "tools": [{"name": "Bash"}]}
    with StandinAPI([http_error(529), bash("ls")]) as api:
        status, text = _post(f"{api.base_url}/v1/messages", main)
        assert (status, json.loads(text)["error"]["type"]) == (529, "overloaded_error")
        side = _post(f"{api.base_url}/v1/messages", {"model": "m", "messages": []})
        assert json.loads(side[1])["content"][0]["text"] == SIDE_TEXT
        reply = json.loads(_post(f"{api.base_url}/v1/messages?beta=true", main)[1])
        assert reply["content"][0]["input"] == {"command": "ls", "description": "scripted command"}
        assert reply["stop_reason"] == "tool_use"
        done = json.loads(_post(f"{api.base_url}/v1/messages", main)[1])
        assert done["content"][0]["text"] == DONE_TEXT
        count = _post(f"{api.base_url}/v1/messages/count_tokens", main)
        assert json.loads(count[1]) == {"input_tokens": INPUT_TOKENS}
        with LOOPBACK.open(f"{api.base_url}/anything", timeout=10) as response:
            assert response.status == 200
    assert [r.kind for r in api.requests] == ["main", "side", "main", "main", "other", "other"]


def test_sse_events_rebuild_the_message() -> None:
    message = {
        "content": [{"type": "tool_use", "id": "t", "name": "W", "input": {"a": [1]}}],
        "stop_reason": "tool_use",
    }
    events = list(sse_events(message))
    assert [e["type"] for e in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    pieces = "".join(e["delta"]["partial_json"] for e in events[2:4])
    assert json.loads(pieces) == {"a": [1]}
