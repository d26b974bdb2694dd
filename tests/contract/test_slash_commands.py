"""The slash commands, as the real Claude Code sees them after `dispatch install-commands`.

The real CLI (pinned) runs in a fresh repository against the loopback stand-in: its
`stream-json` init event must list `project:dispatch` and the companions, and invoking
`/project:dispatch @specs/x.md` must send the model our command file, expanded.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.contract.realclaude import CLAUDE, claude_env, needs_claude
from tests.contract.standin_api import StandinAPI, Text
from tests.contract.test_standin_smoke import message_texts

COMPANIONS = {"project:dispatch", "project:dispatch-status", "project:dispatch-resume",
              "project:dispatch-integrate", "project:dispatch-clean"}


@pytest.fixture
def installed(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    for args in (["init", "-q"], ["commit", "-q", "--allow-empty", "-m", "start"]):
        subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
    done = subprocess.run([sys.executable, "-m", "dispatch", "install-commands"], cwd=repo,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return repo


@pytest.mark.real_claude
@needs_claude
def test_real_cli_lists_and_expands_project_dispatch(installed: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with StandinAPI([Text("I will plan the spec first.")]) as api:
        proc = subprocess.run(
            [str(CLAUDE), "-p", "--output-format", "stream-json", "--verbose", "--",
             "/project:dispatch @specs/voice.md"], cwd=installed, stdin=subprocess.DEVNULL,
            env=claude_env(api.base_url, home), capture_output=True, text=True, timeout=120,
            check=False)
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in proc.stdout.splitlines()]
    init = events[0]
    assert (init["type"], init["subtype"]) == ("system", "init")
    assert COMPANIONS <= set(init["slash_commands"])
    assert events[-1]["result"] == "I will plan the spec first."
    prompt = "\n".join(message_texts(api.main_requests()[0]))
    assert "<command-name>/project:dispatch</command-name>" in prompt
    assert "You are the coordinator for `dispatch`" in prompt  # our file's body, expanded
    assert "The argument is: @specs/voice.md" in prompt  # $ARGUMENTS substituted
