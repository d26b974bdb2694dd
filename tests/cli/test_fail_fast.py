"""What no retry fixes stops the launches at once, says the fix, and one command brings
everything back: no paid session is started to meet the same "Not logged in"."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.support.cli import Result
from tests.support.fakes import FakeClaude
from tests.support.gitrepo import commit
from tests.support.sessions import records, settle, statuses

Cli = Callable[..., Result]
FIVE = "# Five\n## Workstreams\n" + "".join(
    f"### {name}\n- [ ] work\n" for name in ("Api", "Web", "Cli", "Docs", "Ops"))


def test_not_logged_in_halts_the_launches_and_resume_all_brings_them_back(
        repo: Path, cli: Cli, fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/five.md": FIVE})
    fake_claude.script({"*": [{"reply": "not_logged_in", "do": "nowork"}]})
    started = cli("start", "specs/five.md", "--max-parallel", "2", "--wait")
    assert started.code == 1
    found = records(repo, "five")
    failed = [n for n, r in found.items() if r["status"] == "failed"]
    held = [n for n, r in found.items() if r["status"] == "pending"]
    assert len(failed) <= 2 and len(failed) + len(held) == 5  # nothing more was launched
    assert len(fake_claude.calls()) == len(failed)
    for name in held:
        first, _, why = found[name]["error"].removeprefix("not launched: ").partition(" ")
        assert first in failed and why.startswith(
            "failed: Not logged in · Please run /login — log in (run `claude`")
    status = cli("status")
    assert "set ANTHROPIC_API_KEY, then 'dispatch resume --all'" in status.out

    fake_claude.script({"*": []})  # the person logs in: every run works from now on
    resumed = cli("resume", "--all")
    assert resumed.code == 0, resumed
    assert resumed.out.startswith(f"resuming {', '.join(sorted(failed, key=list(found).index))}")
    done = settle(repo, "five")
    assert statuses(done) == dict.fromkeys(found, "done")


def test_start_of_the_feature_says_precisely_what_it_did(
        repo: Path, cli: Cli, fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/five.md": FIVE})
    fake_claude.script({"web": [{"reply": "max_turns", "do": "nowork"}]})
    assert cli("start", "specs/five.md", "--wait").code == 1
    again = cli("start", "five")
    assert again.code == 0
    assert "nothing to do: 4 done, 1 failed — see 'dispatch status five'" in again.out
    assert statuses(records(repo, "five"))["web"] == "failed"


def test_a_claude_that_does_not_run_is_refused_before_any_change(
        repo: Path, cli: Cli, tmp_path: Path, monkeypatch: object) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    broken = tmp_path / "claude"
    broken.write_text("#!/bin/sh\necho 'node: not found' >&2\nexit 127\n")
    broken.chmod(0o755)
    monkeypatch.setenv("CLAUDE_CLI_PATH", str(broken))
    commit(repo, {"specs/five.md": FIVE})
    result = cli("start", "specs/five.md")
    assert (result.code, result.err) == (1, (
        f"dispatch: error: {broken} --version failed (exit 127: node: not found); is it the "
        "claude program? install Claude Code ('npm install -g @anthropic-ai/claude-code'), or "
        "pass --claude PATH or set CLAUDE_CLI_PATH; to try dispatch without it use "
        "--rehearse, to provision only use --no-agents\n"))
    assert not (repo / ".worktrees").exists()
