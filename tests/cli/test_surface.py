"""The Claude Code surface: slash commands, the rehearsal worker and `dispatch demo`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from dispatch.commands import install
from tests.support.cli import Result
from tests.support.gitrepo import commit, git, write
from tests.support.paths import REPO_ROOT
from tests.support.sessions import THREE, settle, statuses

Cli = Callable[..., Result]
COMMANDS = ["dispatch-clean.md", "dispatch-integrate.md", "dispatch-resume.md",
            "dispatch-status.md", "dispatch.md"]


def test_command_files_have_proper_frontmatter() -> None:
    folder = REPO_ROOT / "dispatch" / "resources" / "commands" / "project"
    assert sorted(p.name for p in folder.iterdir()) == COMMANDS
    for path in folder.iterdir():
        text = path.read_text()
        assert text.startswith("---\n")
        meta = yaml.safe_load(text.split("---\n")[1])
        assert set(meta) == {"description", "argument-hint", "allowed-tools"}, path
        tools = [t.strip() for t in meta["allowed-tools"].split(",")]
        assert "Bash(dispatch:*)" in tools and not any(t == "Bash" for t in tools)
        assert "$ARGUMENTS" in text


def test_install_commands_into_the_repository(repo: Path, cli: Cli) -> None:
    first = cli("install-commands")
    assert first.code == 0, first
    target = repo / ".claude" / "commands" / "project"
    assert first.out.splitlines()[:5] == [f"create    {target / name}" for name in COMMANDS]
    assert sorted(p.name for p in target.iterdir()) == COMMANDS
    again = cli("install-commands")
    assert again.out.splitlines()[0] == f"unchanged {target / COMMANDS[0]}"
    (target / "dispatch.md").write_text("my own version\n")
    refused = cli("install-commands")
    assert (refused.code, refused.err) == (1, (
        f"dispatch: error: {target / 'dispatch.md'} differ from dispatch's commands (edited?); "
        "pass --force to overwrite them\n"))
    assert (target / "dispatch.md").read_text() == "my own version\n"
    assert cli("install-commands", "--force").code == 0
    assert (target / "dispatch.md").read_bytes() == \
        (install.source() / "project" / "dispatch.md").read_bytes()


def test_install_commands_for_the_user(repo: Path, cli: Cli, sealed_git: Path) -> None:
    assert cli("install-commands", "--user").code == 0
    assert (sealed_git / ".claude/commands/project/dispatch.md").is_file()
    assert not (repo / ".claude").exists()


def test_rehearsal_is_labelled_everywhere(repo: Path, cli: Cli) -> None:
    commit(repo, {"specs/three.md": THREE})
    assert cli("start", "specs/three.md", "--rehearse", "--wait").code == 0
    found = settle(repo)
    assert statuses(found) == {"api": "done", "web": "done", "docs": "done"}
    assert {r["worker"] for r in found.values()} == {"rehearsal"}
    output = json.loads((repo / found["api"]["last_output"]).read_text())
    assert output["rehearsal"] is True and output["type"] == "result"
    worktree = repo / ".worktrees/three/api"
    assert "- [x] endpoint" in (worktree / ".workstream/TASKS.md").read_text()
    assert git(worktree, "log", "-1", "--format=%s") == "api: rehearsal change"
    status = cli("status")
    assert status.out.startswith("three — REHEARSAL (no Claude sessions, no cost)")
    assert "done (rehearsal)" in status.out
    assert cli("integrate").code == 0
    report = (repo / ".worktrees/three/INTEGRATION.md").read_text()
    assert "> **REHEARSAL**" in report and "done (rehearsal)" in report


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "dispatch", "demo", "--dir", str(tmp_path)],
                          capture_output=True, text=True, check=False,
                          env={**__import__("os").environ,
                               "DISPATCH_REHEARSAL_SECONDS": "0.2"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    repo = tmp_path / "greetings"
    assert "merged: core-formatting, command-line, http-endpoint, documentation" in proc.stdout
    merges = git(repo, "log", "--first-parent", "--format=%s", "greetings/integration")
    assert merges.splitlines()[:4] == [
        "Merge documentation workstream", "Merge http-endpoint workstream",
        "Merge command-line workstream", "Merge core-formatting workstream"]
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "branch", "--show-current") in ("main", "master")
    assert "demo-not-a-secret" not in proc.stdout + proc.stderr


def test_demo_with_claude_needs_claude(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    proc = subprocess.run([sys.executable, "-m", "dispatch", "demo", "--claude", "--dir",
                           str(tmp_path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert "claude (Claude Code) is not on PATH" in proc.stdout + proc.stderr


def test_install_commands_warns_about_a_look_alike_command(repo: Path, cli: Cli) -> None:
    write(repo, {".claude/commands/dispatch.md": "---\ndescription: mine\n---\nMy own thing\n"})
    result = cli("install-commands")
    assert result.code == 0, result
    assert result.err == (f"warning: {repo / '.claude/commands/dispatch.md'} is a different "
                          "command that Claude Code lists as /dispatch; rename or remove it if "
                          "it is not what you want\n")


@pytest.mark.parametrize(("shell", "env"), [
    ("bash", {"COMP_WORDS": "dispatch stop ", "COMP_CWORD": "2"}),
    ("zsh", {"_TYPER_COMPLETE_ARGS": "dispatch stop "}),
    ("fish", {"_TYPER_COMPLETE_ARGS": "dispatch stop ", "_TYPER_COMPLETE_FISH_ACTION":
              "get-args"}),
])
def test_shell_completion_names_features_and_workstreams(
        repo: Path, cli: Cli, shell: str, env: dict[str, str]) -> None:
    commit(repo, {"specs/three.md": THREE})
    assert cli("start", "specs/three.md", "--no-agents").code == 0
    base = {**os.environ, "_DISPATCH_COMPLETE": f"complete_{shell}"}
    done = subprocess.run([sys.executable, "-m", "dispatch"], cwd=repo, env={**base, **env},
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert all(name in done.stdout for name in ("api", "web", "docs")), done.stdout
    feature = subprocess.run([sys.executable, "-m", "dispatch"], cwd=repo, env={
        **base, **env, "COMP_WORDS": "dispatch status t", "COMP_CWORD": "2",
        "_TYPER_COMPLETE_ARGS": "dispatch status t"}, capture_output=True, text=True,
        check=False)
    assert "three" in feature.stdout
