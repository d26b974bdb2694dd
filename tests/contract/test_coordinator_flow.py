"""The coordinator flow as Claude Code runs it: the real CLI (pinned) runs
`/project:dispatch @specs/x.md` from the installed command file against the loopback
stand-in, whose scripted model issues the Bash calls the file asks for — plan, then (after
the user's "yes", a second turn of the same session) start with --rehearse, then status —
and the tool results the model received hold what it must report: each workstream's whole
status row, its cost to the cent, and the whole note of the one that failed. The same for
`/project:dispatch-status`, whose file runs dispatch itself (`!` lines)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.contract.realclaude import CLAUDE, claude_env, needs_claude
from tests.contract.standin_api import StandinAPI, Text, bash
from tests.contract.test_standin_smoke import message_texts

# Three workstreams; the verify command fails for `docs` alone, so its session ends
# needs_attention with a long note (the done check's reason) that must reach the model whole.
SPEC = """\
---
feature: voice
verify: test "$DISPATCH_WORKSTREAM" != docs
---
# Voice
## Workstreams
### Workstream 1: Engine (Can start immediately)
**Goal**: Recognise speech.
**Files**: `engine/**`
- [ ] a recogniser
### Workstream 2: Cli (Can start immediately)
**Goal**: A command line.
**Files**: `cli/**`
- [ ] a command
### Workstream 3: Docs (After workstreams 1-2)
**Goal**: Document both.
**Files**: `docs/**`
- [ ] a guide
"""
NOTE = ("the verify command `test \"$DISPATCH_WORKSTREAM\" != docs` fails (see "
        ".worktrees/voice/logs/docs.verify.log): fix it")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "specs").mkdir(parents=True)
    (repo / "specs/voice.md").write_text(SPEC)
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "spec"]):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
    installed = subprocess.run([sys.executable, "-m", "dispatch", "install-commands"],
                               cwd=repo, capture_output=True, text=True, check=False)
    assert installed.returncode == 0, installed.stderr
    return repo


def run_claude(api: StandinAPI, repo: Path, home: Path, args: list[str]) -> dict[str, Any]:
    env = claude_env(api.base_url, home, {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "DISPATCH_REHEARSAL_SECONDS": "0"})
    proc = subprocess.run([str(CLAUDE), "-p", "--output-format", "json", *args], cwd=repo,
                          stdin=subprocess.DEVNULL, env=env, capture_output=True, text=True,
                          timeout=180, check=False)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def tool_results(api: StandinAPI) -> list[str]:
    """The text of every tool result the model was sent, in order."""
    found: list[str] = []
    for body in api.main_requests():
        for message in body["messages"]:
            for block in message.get("content") or []:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    content = block.get("content")
                    found.append(content if isinstance(content, str) else "\n".join(
                        part.get("text", "") for part in content or []))
    return list(dict.fromkeys(found))  # each request repeats the earlier results


def settled(repo: Path) -> bool:
    state = json.loads((repo / ".worktrees/voice/sessions.json").read_text())
    return all(r["status"] in ("done", "needs_attention") for r in
               state["workstreams"].values())


@pytest.mark.real_claude
@needs_claude
def test_the_coordinator_plans_asks_starts_and_reports_everything(
        project: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    plan_call = bash("dispatch plan specs/voice.md --format markdown")
    with StandinAPI([plan_call, Text("5 workstreams... Shall I start? (it would cost $)")]) \
            as api:
        first = run_claude(api, project, home, ["--", "/project:dispatch @specs/voice.md"])
    assert first["is_error"] is False
    (plan_output,) = tool_results(api)
    assert "| 3 | docs | engine, cli | docs/** | 1 | Document both. |" in plan_output
    assert "3 Claude session(s) · model sonnet" in plan_output
    assert not (project / ".worktrees").exists()  # nothing started before the user said yes

    script = [bash("dispatch start specs/voice.md --rehearse --format markdown")]
    with StandinAPI(script) as api:
        run_claude(api, project, home, [
            "--resume", first["session_id"], "--allowedTools=Bash(dispatch:*)", "--",
            "Yes, go ahead, with --rehearse so it costs nothing."])
    deadline = time.monotonic() + 120
    while not settled(project):
        assert time.monotonic() < deadline, "the rehearsal did not finish"
        time.sleep(0.2)
    with StandinAPI([bash("dispatch status voice --format markdown"), Text("Reported.")]) \
            as api:
        run_claude(api, project, home, [
            "--resume", first["session_id"], "--allowedTools=Bash(dispatch:*)", "--",
            "How is it going?"])
    status = tool_results(api)[-1]
    rows = {line.split("|")[1].strip(): line for line in status.splitlines()
            if line.startswith("| ") and line.split("|")[1].strip() not in ("workstream",
                                                                              "---")}
    assert set(rows) == {"engine", "cli", "docs"}
    for name in ("engine", "cli"):
        assert rows[name].startswith(f"| {name} | done (rehearsal) | 1/1 | 1 | $0.00 | ")
    assert rows["docs"].startswith("| docs | needs_attention (rehearsal) | 1/1 | 2 | $0.00 | ")
    assert NOTE in rows["docs"]  # the whole note, not cut
    assert "cost $0.00" in status


@pytest.mark.real_claude
@needs_claude
def test_dispatch_status_command_hands_the_model_the_whole_table(
        project: Path, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "dispatch", "start", "specs/voice.md",
                           "--rehearse", "--wait"], cwd=project, capture_output=True,
                          text=True, env={**os.environ, "DISPATCH_REHEARSAL_SECONDS": "0"},
                          check=False)
    assert done.returncode == 1, done.stderr  # docs needs attention
    home = tmp_path / "home"
    home.mkdir()
    with StandinAPI([Text("Two are done; docs needs attention.")]) as api:
        run_claude(api, project, home, ["--", "/project:dispatch-status voice"])
    prompt = "\n".join(message_texts(api.main_requests()[0]))
    assert "| engine | done (rehearsal) | 1/1 | 1 | $0.00 |" in prompt
    assert NOTE in prompt
    assert "cost $0.00" in prompt
