"""The conflict radar: two running workers that change the same file are noticed while they
still run — one dated note in COORDINATION.md naming both and the file, a collision in
`status` (text and JSON) — and the next prompt of either session tells it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from tests.support.cli import Result
from tests.support.fakes import FakeClaude
from tests.support.gitrepo import commit
from tests.support.sessions import records, settle, statuses
from tests.support.waiting import wait_for

Cli = Callable[..., Result]
PAIR = ("# Pair\n## Workstreams\n### Api\n**Files**: `api/**`\n- [ ] serve\n"
        "### Web\n**Files**: `web/**`\n- [ ] show\n### Docs\n**Files**: `docs/**`\n- [ ] write\n")


def _status(cli: Cli) -> dict[str, object]:
    result = cli("status", "--json")
    assert result.code == 0, result
    found: dict[str, object] = json.loads(result.out)
    return found


def test_two_running_workers_on_one_file_are_told_before_either_ends(
        repo: Path, cli: Cli, fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/pair.md": PAIR})
    working = fake_claude.barrier("working")
    # api and web each commit their own shared.txt and keep running; docs works alone.
    fake_claude.script({"api": [working.after(do="conflict"), {"do": "work"}],
                        "web": [working.after(do="conflict")],
                        "docs": [working.after(do="work")]})
    assert cli("start", "specs/pair.md", "--no-setup").code == 0
    working.wait_started("api", "web", "docs")
    coordination = repo / ".worktrees/pair/COORDINATION.md"
    wait_for(lambda: "### Collision" in coordination.read_text(),
             "no collision note while both ran")

    found = _status(cli)
    assert [(c["a"], c["b"], c["files"]) for c in found["collisions"]] == [  # type: ignore
        ("api", "web", ["shared.txt"])]
    assert statuses(records(repo, "pair")) == {"api": "running", "web": "running",
                                               "docs": "running"}
    text = coordination.read_text()
    assert text.count("### Collision") == 1
    assert "### Collision: api × web (" in text
    assert "**api** and **web** no longer merge cleanly: both change `shared.txt`" in text
    plain = cli("status").out
    assert "collision: api × web both change shared.txt (since " in plain

    # A word to api: its next run (the same session, resumed) hears of the collision.
    assert cli("tell", "api", "also log requests").code == 0
    working.release()
    done = settle(repo, "pair")
    assert statuses(done) == {"api": "done", "web": "done", "docs": "done"}
    api_prompts = [c["prompt"] for c in fake_claude.calls() if c["workstream"] == "api"]
    assert len(api_prompts) == 2
    assert "conflict radar" not in api_prompts[0]
    assert "also log requests" in api_prompts[1]
    assert "your branch and **web**'s both change `shared.txt`" in api_prompts[1]
    # told once: the pair still collides, and the note was not written again
    assert coordination.read_text().count("### Collision") == 1

