"""The claude command line as data, and finding the program."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatch.core.errors import DispatchError
from dispatch.sessions import claude_cli
from dispatch.state.plan import AgentOptions


def call(**options: object) -> claude_cli.SessionCall:
    return claude_cli.SessionCall(
        program=["/usr/bin/claude"], session_id="0b0e7a1c-0000-4000-8000-000000000001",
        resume=False, options=claude_cli.effective(AgentOptions.model_validate(options)),
        system_prompt="You are worker 1.", prompt="Read TASKS.md", feature_dir=Path("/r/.w/f"))


def test_argv_with_defaults() -> None:
    assert claude_cli.argv(call()) == [
        "/usr/bin/claude", "-p", "--output-format", "stream-json", "--verbose", "--model",
        "sonnet",
        "--session-id", "0b0e7a1c-0000-4000-8000-000000000001",
        "--append-system-prompt", "You are worker 1.", "--permission-mode", "acceptEdits",
        "--add-dir", "/r/.w/f", "--allowedTools=Bash", "--", "Read TASKS.md"]


def test_argv_with_every_option_and_resume() -> None:
    resumed = call(model="opus", permission_mode="plan", allowed_tools=["Read", "Bash(git:*)"],
                   max_turns=40, max_budget_usd=2.5)
    resumed = claude_cli.SessionCall(**{**resumed.__dict__, "resume": True, "prompt": "-rf $(x)"})
    assert claude_cli.argv(resumed) == [
        "/usr/bin/claude", "-p", "--output-format", "stream-json", "--verbose", "--model",
        "opus",
        "--resume", "0b0e7a1c-0000-4000-8000-000000000001",
        "--append-system-prompt", "You are worker 1.", "--permission-mode", "plan",
        "--add-dir", "/r/.w/f", "--max-turns", "40", "--max-budget-usd", "2.5",
        "--allowedTools=Read,Bash(git:*)", "--", "-rf $(x)"]


def test_layers_command_line_wins() -> None:
    spec = AgentOptions(model="opus", max_turns=10)
    per_ws = AgentOptions(max_turns=20)
    cli = AgentOptions(model="haiku")
    assert claude_cli.effective(spec, per_ws, cli) == AgentOptions(
        model="haiku", permission_mode="acceptEdits", allowed_tools=["Bash"], max_turns=20)


def test_find_claude_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("a", "b", "c"):
        (tmp_path / name).mkdir()
        exe = tmp_path / name / "claude"
        exe.write_text("#!/bin/sh\n")
        exe.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path / "c"))
    assert claude_cli.find_claude(None) == [str(tmp_path / "c" / "claude")]
    monkeypatch.setenv("CLAUDE_CLI_PATH", str(tmp_path / "b" / "claude"))
    assert claude_cli.find_claude(None) == [str(tmp_path / "b" / "claude")]
    given = str(tmp_path / "a" / "claude")
    assert claude_cli.find_claude(given) == [given]


def test_missing_and_not_executable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DispatchError) as missing:
        claude_cli.find_claude(None)
    assert missing.value.message == (
        "claude (Claude Code) is not on PATH; install Claude Code ('npm install -g "
        "@anthropic-ai/claude-code'), or pass --claude PATH or set CLAUDE_CLI_PATH; to try "
        "dispatch without it use --rehearse, to provision only use --no-agents")
    plain = tmp_path / "claude"
    plain.write_text("not a program")
    plain.chmod(0o644)
    with pytest.raises(DispatchError, match="is not executable; fix it with 'chmod \\+x"):
        claude_cli.find_claude(str(plain))
