"""The supervisor's eyes on its running workers: it follows each run's event stream and
keeps what each worker is doing now in `logs/<ws>.activity.json`, a small file that `status`
reads (and nothing else writes), so a live view costs neither a lock nor a state write."""

from __future__ import annotations

import json
import time
from pathlib import Path

from dispatch.sessions.stream import Activity, Follower
from dispatch.state.paths import FeaturePaths
from dispatch.state.store import write_atomic

# A worker that streams only text (no tool call) changes no field but its last event: its
# file is rewritten at least this often, so status never calls a busy worker quiet.
HEARTBEAT = 30.0
# People and `status --watch` look every second or two: a busy worker's file is rewritten at
# most this often (the supervisor's CPU is the price of every write).
MIN_INTERVAL = 1.0


class Watchers:
    def __init__(self, paths: FeaturePaths) -> None:
        self.paths = paths
        self.followers: dict[str, Follower] = {}
        self.written: dict[str, float] = {}
        self.pending: set[str] = set()

    def follow(self, name: str, stream: Path, cwd: str) -> None:
        self.followers[name] = Follower(stream, cwd)
        self.written.pop(name, None)

    def poll(self) -> None:
        """Read what every run appended; save the activities that changed."""
        now = time.time()
        for name, follower in self.followers.items():
            changed = follower.poll(now) or name in self.pending
            since = now - self.written.get(name, 0.0)
            if (changed and since >= MIN_INTERVAL) or since > HEARTBEAT:
                self._save(name, follower.activity, now)
            elif changed:
                self.pending.add(name)  # written at the next poll past the interval

    def finish(self, name: str) -> None:
        """The run ended: read its last events and let it go."""
        follower = self.followers.pop(name, None)
        if follower is not None:
            follower.poll(time.time())
            self._save(name, follower.activity, time.time())

    def _save(self, name: str, activity: Activity, now: float) -> None:
        try:  # replaced whole (readers never see half of it), never synced: a live view
            write_atomic(self.paths.activity(name), json.dumps(activity.as_json()) + "\n",
                         durable=False)
        except OSError:
            return  # best effort: the next poll writes it again
        self.written[name] = now
        self.pending.discard(name)
