"""What Claude Code (and a person) reads: off a terminal every value whole on one line per
row; markdown tables for the slash commands; on a terminal, a table that fits — and
`status --watch` in an 80×24 terminal shows every row and the totals."""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from fcntl import ioctl
from pathlib import Path

import pyte
import pytest

from dispatch.state.paths import FeaturePaths
from dispatch.state.store import StateStore
from tests.support.cli import Result
from tests.support.gitrepo import commit

Cli = Callable[..., Result]
NAMES = ["api", "web", "cli", "docs", "ops", "search"]
SIX = "# Six\n## Workstreams\n" + "".join(f"### {n.title()}\n- [ ] work\n" for n in NAMES)
LONG_NOTE = ("the verify command `pytest -q tests/integration/test_end_to_end.py` fails (see "
             ".worktrees/six/logs/web.verify.log): fix it; 3 uncommitted file(s) "
             "(app/web/views.py, app/web/templates/index.html, app/web/static/site.css): "
             "commit them")


@pytest.fixture
def six(repo: Path, cli: Cli) -> Path:
    commit(repo, {"specs/six.md": SIX})
    assert cli("start", "specs/six.md", "--no-agents").code == 0
    store = StateStore(FeaturePaths(repo, "six"))
    store.set_many({name: {"status": "needs_attention", "error": f"{name}: {LONG_NOTE}",
                           "total_cost_usd": 1.234567 * (i + 1), "num_turns": 10 * i}
                    for i, name in enumerate(NAMES)})
    return repo


@pytest.mark.usefixtures("six")
def test_plain_status_keeps_every_value_whole(cli: Cli) -> None:
    out = cli("status").out.splitlines()
    assert out[0] == "six"
    assert out[2] == ("web  needs_attention  tasks 0/1  commits 0  $2.47  10 turns  -  note: "
                      f"web: {LONG_NOTE}")
    assert out[-1].startswith("6 needs_attention · cost $25.93 · tasks 0/6 · no supervisor")


@pytest.mark.usefixtures("six")
def test_markdown_status_is_a_table_with_the_full_note(cli: Cli) -> None:
    out = cli("status", "--format", "markdown").out.splitlines()
    assert out[:4] == ["**six**", "", "| workstream | status | tasks | commits | cost | turns "
                       "| time | note |", "| --- | --- | --- | --- | ---: | ---: | --- | --- |"]
    assert out[5] == (f"| web | needs\\_attention | 0/1 | 0 | $2.47 | 10 | - | web: {LONG_NOTE} |"
                      .replace("needs\\_attention", "needs_attention"))


def test_a_control_sequence_in_a_note_is_shown_not_obeyed(six: Path, cli: Cli) -> None:
    evil = "done\x1b]0;pwned\x07\x1b[2J\x1b]52;c;ZXZpbA==\x07\u202e"
    StateStore(FeaturePaths(six, "six")).set("api", error=evil)
    for args in (("status",), ("status", "--format", "markdown"), ("status", "--json")):
        out = cli(*args).out
        assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    assert "done\\x1b]0;pwned\\x07\\x1b[2J" in cli("status").out
    assert json.loads(cli("status", "--json").out)["workstreams"][0]["error"] == evil


def screen_of(argv: list[str], cwd: Path, columns: int, lines: int,
              until: Callable[[pyte.Screen], bool], timeout: float = 30.0) -> pyte.Screen:
    """Run `argv` in a pseudo-terminal of this size; return the screen once `until` holds."""
    screen = pyte.Screen(columns, lines)
    stream = pyte.ByteStream(screen)
    leader, follower = pty.openpty()
    ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
    env = {**os.environ, "COLUMNS": str(columns), "LINES": str(lines), "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(argv, cwd=cwd, stdin=follower, stdout=follower, stderr=follower,
                            env=env, start_new_session=True)
    os.close(follower)
    deadline = time.monotonic() + timeout
    try:
        while not until(screen):
            assert time.monotonic() < deadline, "\n".join(screen.display)
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                stream.feed(os.read(leader, 65536))
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)
        os.close(leader)
    return screen


def test_watch_in_an_80_by_24_terminal_shows_every_row_and_the_totals(six: Path) -> None:
    def complete(screen: pyte.Screen) -> bool:
        text = "\n".join(screen.display)
        return "cost $25.93" in text and all(f" {n}: " in text or f"\n{n} " in text or
                                             f"{n}  " in text for n in NAMES)

    screen = screen_of([sys.executable, "-m", "dispatch", "status", "--watch"], six, 80, 24,
                       complete)
    rows = [line for line in screen.display if line.split()[:1] and line.split()[0] in NAMES]
    assert [row.split()[0] for row in rows] == NAMES
    assert all("needs_attention" in row and "$" in row for row in rows)  # status and cost
    assert "$7.41" in rows[5] or "$7.41" in "\n".join(screen.display)


def test_a_narrow_terminal_puts_notes_on_their_own_lines(six: Path) -> None:
    def complete(screen: pyte.Screen) -> bool:
        return "cost $25.93" in "\n".join(screen.display)

    screen = screen_of([sys.executable, "-m", "dispatch", "status"], six, 60, 60, complete)
    text = "\n".join(line.rstrip() for line in screen.display)
    assert "$1.23" in text and "$7.41" in text  # never cut
    assert "…" not in text
