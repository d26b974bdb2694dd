"""Watching and steering a live worker, with the real CLI (pinned) against the loopback
stand-in: the scripted worker's Bash tool call waits on a gate file, so the test looks at
the worker while it is in the middle of that call — its current tool call in
`status --json`, `logs --follow` printing its tool calls in order — and `tell` turns the
running session into one resumed run of the same session id, in the same worktree, carrying
the message, with no second process at any moment."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.contract.dispatch_support import (
    FEATURE,
    RESULTS_MD,
    WS,
    PointClaude,
    diagnose,
    record,
    wait_for,
)
from tests.contract.realclaude import CLAUDE, needs_claude
from tests.contract.standin_api import StandinAPI, Step, Text, bash, write
from tests.support.cli import Result
from tests.support.sessions import settle

Cli = Any
pytestmark = pytest.mark.usefixtures("no_supervisor_left")
MESSAGE = "The API contract changed: read COORDINATION.md before you go on."


def status_json(cli: Cli) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(cli("status", FEATURE, "--json").out)["workstreams"][0]
    return found


def processes_of(session: str) -> list[int]:
    """The CLI processes running this session; a child the CLI is forking (for a tool) has
    its parent's command line for an instant and is not one."""
    found = {p.pid: p.info.get("ppid") for p in psutil.process_iter(["cmdline", "ppid"])
             if session in (p.info.get("cmdline") or [])}
    return [pid for pid, parent in found.items() if parent not in found]


@pytest.mark.real_claude
@needs_claude
def test_watch_follow_and_tell_a_running_worker(
        repo: Path, spec: str, cli: Cli, point_claude: PointClaude, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    script: list[Step] = [write("feature.txt", "hello\n"),
              bash(f"while [ ! -e {gate} ]; do sleep 0.1; done; echo gate open"),
              write(".workstream/RESULTS.md", RESULTS_MD),
              bash("git add -A && git commit -q -m 'Add feature.txt'"),
              Text("Told, and done."), Text("Done.")]
    with StandinAPI(script) as api:
        point_claude(api.base_url)
        started = cli("start", spec, "--claude", str(CLAUDE))
        assert started.code == 0, diagnose(repo, started)
        wait_for(lambda: status_json(cli)["activity"] is not None and
                 status_json(cli)["activity"]["now"].startswith("Bash: while [ ! -e"),
                 "status to show the worker inside its Bash tool call")
        live = status_json(cli)
        assert live["status"] == "running"
        assert live["activity"]["tool_calls"] == 2 and live["activity"]["files"] == [
            "feature.txt"]
        assert live["activity"]["quiet"] is False
        line = next(x for x in cli("status", FEATURE).out.splitlines()
                    if x.startswith(f"{WS}  running"))
        assert "now: Bash: while [ ! -e" in line

        follower = subprocess.Popen([sys.executable, "-m", "dispatch", "logs", WS, "--follow"],
                                    cwd=repo, stdout=subprocess.PIPE, text=True)
        # Every line read from the one buffered reader (communicate() after readline() would
        # read past what the reader had already buffered, and lose it).
        followed: list[str] = []

        def read() -> None:
            for line in follower.stdout or []:
                followed.append(line)

        reader = threading.Thread(target=read)
        reader.start()
        wait_for(lambda: any(x.startswith("→ Bash: while") for x in followed),
                 "logs --follow to show the held call")
        session = record(repo)["session_id"]
        told = cli("tell", WS, MESSAGE)  # it is inside the Bash call: stopped, then resumed
        assert told.code == 0, diagnose(repo, told)
        gate.touch()
        follower.wait(timeout=120)
        reader.join(timeout=10)
        done = settle(repo, FEATURE, timeout=120)
        assert len(processes_of(session)) == 0

    assert done[WS]["status"] == "done", diagnose(repo, Result(0, "", ""))
    assert done[WS]["session_id"] == session and done[WS]["attempts"] == 2
    first, second = (json.loads(path.read_text().splitlines()[0]) for path in sorted(
        (repo / ".worktrees" / FEATURE / "logs").glob(f"{WS}.*.jsonl")))
    assert second == {"type": "dispatch", "subtype": "prompt", "prompt": MESSAGE}
    assert any(MESSAGE in note for note in done[WS]["notes"])
    resumed = [b for b in api.main_requests() if any(
        MESSAGE in json.dumps(m) for m in b["messages"])]
    assert resumed, "the resumed run did not carry the message to the model"
    calls = [x.rstrip("\n") for x in followed if x.startswith("→ ")]
    assert calls[:2] == ["→ Write feature.txt", f"→ Bash: while [ ! -e {gate} ]; do sleep "
                         "0.1; done; echo gate open"]
    assert first["type"] == "dispatch"


@pytest.mark.real_claude
@needs_claude
@pytest.mark.parametrize("turn", [2, 1], ids=["told-after-a-saved-turn", "told-in-its-first-turn"])
def test_a_told_session_is_one_process_and_carries_the_message(
        repo: Path, spec: str, cli: Cli, point_claude: PointClaude, tmp_path: Path,
        turn: int) -> None:
    """Sampled all along: never two processes for the session. Told during its first turn,
    the CLI has not saved the session yet (resuming it says "No conversation found"): it is
    started again with the same id, told its task and then the message."""
    gate = tmp_path / "gate"
    held = bash(f"while [ ! -e {gate} ]; do sleep 0.1; done")
    script: list[Step] = [*([write("notes.txt", "n\n")] if turn == 2 else []), held,
                          write(".workstream/RESULTS.md", RESULTS_MD),
                          write("feature.txt", "x\n"),
                          bash("git add -A && git commit -q -m x"), Text("done")]
    with StandinAPI(script) as api:
        point_claude(api.base_url)
        assert cli("start", spec, "--claude", str(CLAUDE)).code == 0
        wait_for(lambda: (status_json(cli)["activity"] or {}).get("now", "").startswith(
            "Bash: while"), "the worker to be inside its held Bash call")
        session = record(repo)["session_id"]
        seen: list[int] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                seen.append(len(processes_of(session)))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample)
        sampler.start()
        assert cli("tell", WS, MESSAGE).code == 0
        gate.touch()
        done = settle(repo, FEATURE, timeout=120)
        stop.set()
        sampler.join()
    assert len(seen) > 20 and max(seen) == 1  # sampled many times; never two at once
    assert done[WS]["status"] == "done" and done[WS]["session_id"] == session
    prompts = [json.loads(p.read_text().splitlines()[0])["prompt"] for p in sorted(
        (repo / ".worktrees" / FEATURE / "logs").glob(f"{WS}.*.jsonl"))]
    if turn == 2 or len(prompts) == 2:
        assert prompts[1:] == [MESSAGE]  # one resumed run, carrying the message
    else:  # the CLI had not saved it yet ("No conversation found"): started afresh
        assert prompts[1] == MESSAGE and prompts[2].startswith("Read .workstream/TASKS.md")
        assert prompts[2].endswith(f"\n\n{MESSAGE}")  # its task, then the message
