"""Steering workers from the outside: a seat in a session (`attach`, in a pseudo-terminal
with a stand-in claude that says what it was given), and a signal when something needs a
person (`--on-event`): one event per transition, in order, a hook that hangs or fails never
slows or breaks the run, and no `.env` value in any event."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.support.cli import Result
from tests.support.fakes import FakeClaude
from tests.support.gitrepo import commit
from tests.support.paths import EXAMPLE_SPEC
from tests.support.sessions import records, statuses

Cli = Callable[..., Result]
ONE = "# One\n## Workstreams\n### Api\n**Files**: `api/**`\n- [ ] serve\n"
SENTINEL = "sentinel-secret-5d1f0c"


def in_a_terminal(argv: list[str], cwd: Path) -> tuple[int, str]:
    """Run `argv` with a pseudo-terminal as its stdin, stdout and stderr."""
    pid, leader = pty.fork()
    if pid == 0:  # the child
        os.chdir(cwd)
        os.execvpe(argv[0], argv, os.environ)
    output = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:
            break
        if not chunk:
            break
        output += chunk
    _, status = os.waitpid(pid, 0)
    os.close(leader)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")


def test_attach_opens_the_same_session_in_its_worktree_on_a_terminal(
        repo: Path, cli: Cli, fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/one.md": ONE})
    fake_claude.script({"api": [{"do": "nowork"}]})  # ends without its work: not done
    assert cli("start", "specs/one.md", "--wait", "--no-follow-up").code == 1
    session = records(repo, "one")["api"]["session_id"]
    code, output = in_a_terminal([sys.executable, "-m", "dispatch", "attach", "api"], repo)
    assert code == 0, output
    (seen,) = [json.loads(x) for x in (fake_claude.state / "interactive.jsonl").read_text()
               .splitlines()]
    assert seen["argv"] == ["--resume", session]
    assert seen["cwd"] == str(repo / ".worktrees/one/api")
    assert seen["stdin_is_a_terminal"] and seen["stdout_is_a_terminal"]
    api = records(repo, "one")["api"]
    assert api["status"] == "stopped" and api["error"].startswith(
        "after the attached session (exit 0): no commits on the branch one/api")
    assert "api is stopped (no commits on the branch one/api" in output


def test_attach_without_a_terminal_is_refused(repo: Path, cli: Cli,
                                              fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/one.md": ONE})
    assert cli("start", "specs/one.md", "--wait").code == 0
    refused = cli("attach", "api")
    assert (refused.code, refused.err) == (1, (
        "dispatch: error: attach needs a terminal (the session is interactive): run it in "
        "your own terminal, or inside tmux with --window\n"))
    assert not (fake_claude.state / "interactive.jsonl").exists()
    assert records(repo, "one")["api"]["status"] == "done"


def test_every_transition_says_one_event_in_order_and_no_secret(
        repo: Path, cli: Cli, fake_claude: FakeClaude, tmp_path: Path) -> None:
    heard = tmp_path / "heard.jsonl"
    hook = f"cat >> '{heard}'; echo >> '{heard}'"
    commit(repo, {"specs/plugin.md": EXAMPLE_SPEC.read_text(), ".env": f"TOKEN={SENTINEL}\n",
                  ".gitignore": ".env\n"})
    fake_claude.script({"provider-interfaces": [{"reply": "max_turns", "do": "nowork"}]})
    assert cli("start", "specs/plugin.md", "--wait", "--on-event", hook).code == 1
    found = statuses(records(repo, "plugin"))
    deadline = time.monotonic() + 30
    while not heard.exists() or heard.read_text().count("\"all_finished\"") < 1:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    events = [json.loads(x) for x in heard.read_text().splitlines() if x.strip()]
    said = [(e["workstream"], e["new"]) for e in events if e["event"] == "status"]
    assert sorted(said) == sorted(found.items())  # exactly one event per workstream's end
    assert said.index(("provider-interfaces", "failed")) < said.index(("registry", "blocked"))
    assert events[-1]["event"] == "all_finished" and events[-1]["statuses"] == found
    logged = (repo / ".worktrees/plugin/logs/events.jsonl").read_text()
    assert [json.loads(x) for x in logged.splitlines()] == events
    assert SENTINEL not in heard.read_text() + logged


def test_a_hook_that_hangs_or_fails_never_slows_or_breaks_the_run(
        repo: Path, cli: Cli, fake_claude: FakeClaude, tmp_path: Path) -> None:
    hanging = tmp_path / "hang"
    hanging.touch()
    marker = f"sleep 600 # {tmp_path.name}"
    commit(repo, {"specs/one.md": ONE})
    began = time.monotonic()
    result = cli("start", "specs/one.md", "--wait", "--on-event",
                 f"if [ -e '{hanging}' ]; then {marker}\nfi; exit 3")
    try:
        assert result.code == 0, result
        assert time.monotonic() - began < 60  # the hook's 600 s are nobody's wait
        assert records(repo, "one")["api"]["status"] == "done"
        again = cli("resume", "api", "--prompt", "again", "--wait")  # hooks still hanging
        assert again.code == 0 and len(fake_claude.calls()) == 2
    finally:
        hanging.unlink()
        subprocess.run(["pkill", "-f", marker], check=False)
    log = repo / ".worktrees/one/logs/hooks.log"
    deadline = time.monotonic() + 30
    while log.read_text().count("the hook exited 3") < 3:  # each event, in turn, then failing
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)
