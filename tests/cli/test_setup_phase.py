"""Setup runs in the supervisor, before each workstream's session: `start` returns in
seconds, a failed setup is visible everywhere (start, status, totals, the report) and is
retried by `dispatch setup` and by `start <feature>`; its session waits unless allowed."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from tests.support.cli import Result
from tests.support.fakes import FakeClaude
from tests.support.gitrepo import commit
from tests.support.sessions import records, settle, statuses

Cli = Callable[..., Result]
TWO = "# Two\n## Workstreams\n### Api\n- [ ] serve\n### Web\n- [ ] show\n"
# Fails in the worktree of `web` only, until the file `fixed` exists at the repository top.
FLAKY_SETUP = 'test "$(basename "$PWD")" != web || test -e ../../../fixed'


def test_start_returns_before_a_slow_setup_ends(repo: Path, cli: Cli,
                                                fake_claude: FakeClaude,
                                                tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    commit(repo, {"specs/two.md": TWO})
    started = time.monotonic()
    result = cli("start", "specs/two.md", "--setup", f"while [ ! -e '{gate}' ]; do sleep 0.05; "
                 "done")
    took = time.monotonic() - started
    assert result.code == 0, result
    now = records(repo, "two")
    assert statuses(now) == {"api": "setting_up", "web": "setting_up"}
    assert "queued 2: api, web (setup first in api, web)" in result.out
    assert fake_claude.calls() == []  # no session before its setup
    gate.touch()
    done = settle(repo, "two")
    assert statuses(done) == {"api": "done", "web": "done"}
    assert {r["setup"]["status"] for r in done.values()} == {"ok"}
    assert took < 60  # (the bound is the gate: start never waited for it)


def test_a_failed_setup_is_visible_everywhere_and_retried(repo: Path, cli: Cli,
                                                          fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/two.md": TWO})
    assert cli("start", "specs/two.md", "--setup", FLAKY_SETUP).code == 0
    found = settle(repo, "two")
    assert statuses(found) == {"api": "done", "web": "setup_failed"}
    assert found["web"]["error"].startswith(
        f"setup `{FLAKY_SETUP}` failed (exit 1; see .worktrees/two/logs/web.setup.log); its "
        "session waits: fix it, then 'dispatch setup two web' (or start with "
        "--allow-setup-failure)")
    assert [c["workstream"] for c in fake_claude.calls()] == ["api"]
    status = cli("status")
    web_line = next(line for line in status.out.splitlines() if line.startswith("web "))
    assert web_line.startswith("web  setup_failed  tasks 0/1")
    assert "note: setup `" in web_line
    assert "setup failed in 1 worktree(s): web — see 'dispatch logs <workstream> --setup'" \
        in status.out
    assert json.loads(cli("status", "--json").out)["workstreams"][1]["setup"] == "failed"
    assert "$ " + FLAKY_SETUP in cli("logs", "web", "--setup").out

    again = cli("setup")  # every failed one, in the foreground, each with its log
    assert again.code == 1 and again.out.startswith("web: setup failed (exit 1, ")
    (repo / "fixed").touch()
    fixed = cli("setup", "web")
    assert fixed.code == 0 and fixed.out.startswith("web: setup ok (exit 0, ")
    done = settle(repo, "two")
    assert statuses(done) == {"api": "done", "web": "done"}


def test_start_of_the_feature_retries_a_failed_setup(repo: Path, cli: Cli,
                                                     fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/two.md": TWO})
    assert cli("start", "specs/two.md", "--setup", FLAKY_SETUP).code == 0
    assert statuses(settle(repo, "two"))["web"] == "setup_failed"
    (repo / "fixed").touch()
    again = cli("start", "two")
    assert again.code == 0, again
    assert "queued 1: web (setup first in web)" in again.out
    assert statuses(settle(repo, "two")) == {"api": "done", "web": "done"}
    assert len(fake_claude.calls()) == 2


def test_a_session_may_start_after_a_failed_setup_when_allowed(
        repo: Path, cli: Cli, fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/two.md": TWO})
    assert cli("start", "specs/two.md", "--setup", FLAKY_SETUP, "--allow-setup-failure",
               "--wait").code == 0
    found = records(repo, "two")
    assert statuses(found) == {"api": "done", "web": "done"}
    assert found["web"]["setup"]["status"] == "failed"
    report = cli("integrate")
    assert report.code == 0
    text = (repo / ".worktrees/two/INTEGRATION.md").read_text()
    assert "setup failed" in text and "web.setup.log" in text
    assert len(fake_claude.calls()) == 2
