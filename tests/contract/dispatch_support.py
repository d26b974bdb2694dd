"""What the contract tests of dispatch's own code paths share: a one-workstream spec, the
records and outputs they read, and how they wait (see conftest.py for the fixtures)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import psutil
import pytest

from dispatch.sessions import claude_cli, launch, run_result
from dispatch.state.paths import FeaturePaths
from dispatch.state.plan import AgentOptions
from tests.contract.realclaude import CLAUDE
from tests.contract.standin_api import StandinAPI, Step, Text, bash, write
from tests.support.cli import Result
from tests.support.sessions import records

Cli = Callable[..., Result]

FEATURE, WS = "solo", "greeting"
SPEC = f"""\
---
feature: {FEATURE}
---
# Solo feature
## Workstreams
### Workstream 1: Greeting
**Goal**: add a greeting file
**Files**: `feature.txt`
- [ ] write feature.txt
"""
RESULTS_MD = "# Results\nAdded feature.txt.\n"
COMMIT_MESSAGE = "Add feature.txt"
FINAL_TEXT = "All tasks done."
FIRST_PROMPT = 'Read .workstream/TASKS.md and complete every task in it for workstream "Greeting".'
CLOSED_PORT_URL = "http://127.0.0.1:9"  # the discard port: nothing listens on it here
TIMEOUT = 60.0  # seconds for anything to happen; a CLI run takes about 1 s


def work_script() -> list[Step]:
    """The model does the workstream: a file, RESULTS.md (git-ignored, so the commit needs
    feature.txt), a commit, and a final reply."""
    return [
        write("feature.txt", "hello\n"),
        write(".workstream/RESULTS.md", RESULTS_MD),
        bash(f"git add -A && git commit -q -m '{COMMIT_MESSAGE}'"),
        Text(FINAL_TEXT),
    ]



class PointClaude(Protocol):
    def __call__(self, base_url: str, *, api_key: bool = True) -> None: ...


def tool_processes(command: str) -> list[psutil.Process]:
    """The running shells of a Bash tool command (`bash -c "... <command> ..."`)."""
    import os

    found = []
    for process in psutil.process_iter(["cmdline"]):
        cmdline = process.info.get("cmdline") or []
        if any(command in arg for arg in cmdline) and process.pid != os.getpid():
            found.append(process)
    return found


# --------------------------------------------------------------------------- helpers


def record(repo: Path) -> dict[str, Any]:
    found: dict[str, Any] = records(repo, FEATURE)[WS]
    return found


def feature_base(repo: Path) -> str:
    data: dict[str, Any] = json.loads((repo / ".worktrees" / FEATURE / "sessions.json")
                                      .read_text())
    base: str = data["base"]
    return base


def run_output(repo: Path, attempt: int) -> dict[str, Any]:
    """The result object the CLI printed on the workstream's run number `attempt`."""
    files = run_result.run_files(FeaturePaths(repo, FEATURE), WS, attempt)
    lines = files.stdout.read_text().splitlines()  # the stream: events, the result last
    data: dict[str, Any] = json.loads(lines[-1])
    assert data["type"] == "result", lines[-1]
    return data


def stderr_of(repo: Path, attempt: int) -> str:
    return run_result.run_files(FeaturePaths(repo, FEATURE), WS, attempt).stderr.read_text()


def session_headers(api: StandinAPI) -> list[str]:
    """The X-Claude-Code-Session-Id of every model call of the conversation."""
    return [r.headers.get("x-claude-code-session-id", "") for r in api.requests
            if r.kind == "main"]


def texts(body: dict[str, Any]) -> list[str]:
    """Every text of a request's messages (text blocks and string contents), in order."""
    found: list[str] = []
    for message in body["messages"]:
        content: Any = message["content"]
        if isinstance(content, str):
            found.append(content)
        else:
            found += [b["text"] for b in content if b.get("type") == "text"]
    return found


def position(said: list[str], needle: str) -> int:
    """Index of the first text containing `needle`, or -1."""
    return next((i for i, text in enumerate(said) if needle in text), -1)


def says(body: dict[str, Any], needle: str) -> bool:
    return any(needle in text for text in texts(body))


def system_text(body: dict[str, Any]) -> str:
    system: Any = body.get("system") or ""
    return system if isinstance(system, str) else "\n".join(b.get("text", "") for b in system)


def diagnose(repo: Path, result: Result) -> str:
    """What to show when a dispatch command did not end as expected: its output and logs."""
    logs = FeaturePaths(repo, FEATURE).logs
    parts = [repr(result)]
    for path in sorted(logs.glob("*")) if logs.is_dir() else []:
        parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-2000:]}")
    return "\n".join(parts)


def start(cli: Cli, spec: str, *args: str) -> Result:
    """`dispatch start SPEC --claude <the real CLI> --wait ARGS`."""
    began = time.monotonic()
    result = cli("start", spec, "--claude", str(CLAUDE), "--wait", *args)
    assert time.monotonic() - began < TIMEOUT
    return result


def eventually(condition: Callable[[], bool], timeout: float) -> bool:
    """Whether `condition` holds within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def wait_for(condition: Callable[[], bool], what: str) -> None:
    if not eventually(condition, TIMEOUT):
        pytest.fail(f"timed out waiting for {what}", pytrace=False)


def precondition(holds: bool, what: str) -> None:
    """What a test relies on (a step that must work, or how the real CLI behaves), told
    apart from what it checks."""
    if not holds:
        pytest.fail(f"precondition broken: {what}", pytrace=False)


def saved_sessions(claude_home: Path, session: str) -> list[Path]:
    """Where the CLI saved a session: projects/<its cwd, non-alphanumerics as '-'>/<id>.jsonl."""
    return list((claude_home / ".claude" / "projects").glob(f"*/{session}.jsonl"))


def project_dir(cwd: Path) -> str:
    return re.sub(r"[^A-Za-z0-9]", "-", str(cwd.resolve()))


def session_call(program: list[str], cwd: Path) -> claude_cli.SessionCall:
    """A new session with dispatch's default options (what `dispatch start` would pass)."""
    return claude_cli.SessionCall(
        program=program, session_id=launch.new_session_id(), resume=False,
        options=claude_cli.effective(AgentOptions()), system_prompt="You are a test worker.",
        prompt="go", feature_dir=cwd)


