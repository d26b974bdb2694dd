"""Helpers for tests that run sessions through the supervisor (with the fake claude)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from dispatch.sessions import client
from dispatch.state.paths import FeaturePaths

THREE = """\
# Three
## Workstreams
### Workstream 1: Api
**Goal**: serve
- [ ] endpoint
### Workstream 2: Web
**Goal**: show
- [ ] page
### Workstream 3: Docs (After workstream 1)
**Goal**: explain
- [ ] guide
"""


def state(repo: Path, feature: str = "three") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((repo / ".worktrees" / feature / "sessions.json")
                                      .read_text())
    return data


def records(repo: Path, feature: str = "three") -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = state(repo, feature)["workstreams"]
    return found


def settle(repo: Path, feature: str = "three", timeout: float = 30.0) -> dict[str, Any]:
    """Wait until the feature's supervisor has exited; return the records."""
    paths = FeaturePaths(repo, feature)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = records(repo, feature).values()
        if client.supervisor_pid(paths) is None and not any(
                r["status"] in ("running", "retrying") or
                (r["status"] == "pending" and r["error"] is None) for r in found):
            return records(repo, feature)
        time.sleep(0.05)
    log = paths.logs / "supervisor.log"
    raise AssertionError(f"the supervisor did not finish in {timeout}s: "
                         f"{ {n: r['status'] for n, r in records(repo, feature).items()} }; "
                         f"supervisor pid {client.supervisor_pid(paths)}; log: "
                         f"{log.read_text()[-2000:] if log.exists() else '-'}")


def statuses(found: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {name: record["status"] for name, record in found.items()}
