"""The fake `claude` executable (tests/support/fake_claude.py), installed for one test."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.paths import REPO_ROOT
from tests.support.waiting import wait_for


@dataclass(frozen=True)
class Barrier:
    """Sessions whose step is `barrier.step()` start, say so, and wait until `release()`:
    a test sees them running for as long as it likes, and ends them when it chooses."""

    path: Path

    def step(self, **more: object) -> dict[str, object]:
        """A script step that holds here (then does `more`: "do", "reply", ...)."""
        return {"hold": str(self.path), **more}

    def after(self, **more: object) -> dict[str, object]:
        """A script step that does `more` first (commits its work), then holds here."""
        return {"hold_after": str(self.path), **more}

    def runs_started(self, workstream: str) -> int:
        marker = self.path.with_name(f"{self.path.name}.{workstream}.started")
        return len(marker.read_text().splitlines()) if marker.exists() else 0

    def wait_started(self, *workstreams: str, runs: int = 1, timeout: float = 60.0) -> None:
        """Until each of `workstreams` has started `runs` runs that reached the barrier."""
        wait_for(lambda: all(self.runs_started(w) >= runs for w in workstreams),
                 f"{workstreams} did not reach barrier {self.path.name}", timeout)

    def release(self) -> None:
        self.path.touch()

    @property
    def released(self) -> bool:
        return self.path.exists()


class FakeClaude:
    """The fake `claude` and what it recorded."""

    def __init__(self, folder: Path) -> None:
        self.state = folder / "state"
        self.state.mkdir(parents=True)
        self.path = folder / "bin" / "claude"
        self.path.parent.mkdir()
        self.path.write_text(f'#!/bin/sh\nexec "{sys.executable}" '
                             f'"{REPO_ROOT / "tests/support/fake_claude.py"}" "$@"\n')
        self.path.chmod(0o755)

    def script(self, steps: dict[str, list[dict[str, object]]]) -> None:
        (self.state / "script.json").write_text(json.dumps(steps))

    def barrier(self, name: str) -> Barrier:
        """A barrier for script steps (see `Barrier`); one name, one barrier."""
        return Barrier(self.state / f"barrier-{name}")

    def release_barriers(self) -> None:
        """Release every barrier (at a test's end: no session is left holding)."""
        for marker in self.state.glob("barrier-*.started"):
            (self.state / marker.name.split(".", 1)[0]).touch()

    def calls(self) -> list[dict[str, Any]]:
        """Every run, in the order they started: argv, cwd, workstream, session, time."""
        return self._log("calls.jsonl")

    def ends(self) -> list[dict[str, Any]]:
        """Every run that got to its reply: workstream, session, and the moment just before
        it printed its result (`time.time()`, comparable with `calls()`' times)."""
        return self._log("ends.jsonl")

    def _log(self, name: str) -> list[dict[str, Any]]:
        log = self.state / name
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() \
            else []

