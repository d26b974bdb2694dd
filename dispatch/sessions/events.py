"""A signal when something needs a person: the supervisor runs the user's hook
(`--on-event CMD`, frontmatter `on_event`) with one JSON event on its stdin for each
workstream that becomes done, needs_attention, failed, blocked or setup_failed, when the
feature's budget is reached, and when everything has finished.

Every event is appended to `logs/events.jsonl`, which is what "already said" means: a new
supervisor never says a transition twice. A detached runner (hook_runner.py) feeds them to
the hook one at a time, in order: one that hangs or fails never slows or stops the run. An event
holds dispatch's own facts only (names, statuses, reasons, costs): never a `.env` value.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dispatch.core import files
from dispatch.sessions import hook_runner
from dispatch.state.model import FeatureState, now
from dispatch.state.paths import FeaturePaths

SIGNALLED = ("done", "needs_attention", "failed", "blocked", "setup_failed")


class Notifier:
    def __init__(self, paths: FeaturePaths) -> None:
        self.paths = paths
        self.log = paths.logs / "events.jsonl"
        self.said, self.budget_said = _already_said(self.log)
        self.seen: dict[str, str] = {}

    def observe(self, state: FeatureState, over_budget: str) -> None:
        """Say each new transition into a status a person may want to hear about."""
        for name in state.names():
            record = state.workstreams[name]
            old = self.seen.get(name, record.status)
            self.seen[name] = record.status
            if record.status in SIGNALLED and self.said.get(name) != record.status:
                self.said[name] = record.status
                self._say(state, {"event": "status", "workstream": name, "old": old,
                                  "new": record.status, "reason": record.error,
                                  "cost_usd": round(record.total_cost_usd, 6)})
            elif record.status not in SIGNALLED:
                self.said.pop(name, None)  # running again: its next end is news again
        if over_budget and not self.budget_said:
            self.budget_said = True
            self._say(state, {"event": "budget_reached", "reason": over_budget})

    def finished(self, state: FeatureState) -> None:
        self._say(state, {"event": "all_finished", "statuses": {
            name: state.workstreams[name].status for name in state.names()}})

    def _say(self, state: FeatureState, event: dict[str, Any]) -> None:
        full = {**event, "feature": state.feature, "feature_cost_usd":
                round(state.total_cost(), 6), "at": now().isoformat()}
        with files.open_log(self.log) as out:
            out.write((json.dumps(full) + "\n").encode())
        if state.run is not None and state.run.on_event:
            hook_runner.ensure(self.paths)  # delivers it, in order, detached


def _already_said(log: Path) -> tuple[dict[str, str], bool]:
    said: dict[str, str] = {}
    budget = False
    try:
        lines = (files.read_text(log) or "").splitlines()
    except OSError:
        return said, budget
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if event.get("event") == "status":
            said[str(event.get("workstream"))] = str(event.get("new"))
        budget = budget or event.get("event") == "budget_reached"
    return said, budget
