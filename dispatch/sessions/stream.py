"""A worker's live event stream (`claude -p --output-format stream-json --verbose`): one JSON
object per line, written as it happens — `system/init` first, then `assistant` messages (text,
thinking, tool calls), `user` messages (tool results), and last the `result` object that
run_result.py reads.

`Follower` reads what a run has appended since the last look (the supervisor looks every
tick) and keeps a small summary of it, the `Activity`: what the worker is doing now and since
when, its turns and tool calls, the files it touched. Everything here is untrusted worker
output: a line that is not a JSON object is skipped, sizes are bounded.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dispatch.core import files
from dispatch.sessions import result_fields

MAX_LINE = 8 * 1024 * 1024  # one event; a longer "line" is skipped, not held in memory
MAX_FILES = 200  # files touched kept per run
_EDITS = ("Edit", "Write", "MultiEdit", "NotebookEdit")


@dataclass
class Activity:
    now: str = "starting"  # the last tool call, summarised, or "thinking"
    since: float | None = None  # when `now` began (epoch seconds, as the follower saw it)
    last_event: float | None = None  # when the last event arrived: quiet workers show it
    turns: int = 0
    tool_calls: int = 0
    files: list[str] = field(default_factory=list)
    cost_usd: float | None = None  # only when the stream says (the final result does)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def summarise_tool(name: str, tool_input: Any, cwd: str | None = None,
                   limit: int = 80) -> str:
    """`Edit app/cli/main.py`, `Bash: pytest -q`, `Read README.md`, `Grep TODO`..."""
    given = tool_input if isinstance(tool_input, dict) else {}
    path = given.get("file_path") or given.get("notebook_path") or given.get("path")
    if name == "Bash":
        command = " ".join(str(given.get("command", "")).split())
        return f"Bash: {_short(command, limit)}"
    if isinstance(path, str) and path:
        return f"{name} {_short(_relative(path, cwd), max(limit, 100))}"
    for key in ("pattern", "url", "description", "query", "prompt"):
        if isinstance(given.get(key), str):
            return f"{name} {_short(given[key], limit)}"
    return name


def _relative(path: str, cwd: str | None) -> str:
    if cwd and path.startswith(cwd.rstrip("/") + "/"):
        return path[len(cwd.rstrip("/")) + 1:]
    return path


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Follower:
    """Reads a growing JSON-lines file from where it stopped last time."""

    def __init__(self, path: Path, cwd: str | None = None) -> None:
        self.path = path
        self.cwd = cwd
        self.offset = 0
        self.partial = b""
        self.activity = Activity()
        self._message_ids: set[str] = set()

    def poll(self, at: float) -> bool:
        """Read what was appended; True when the activity changed."""
        changed = False
        for event in self.events():
            changed = self.apply(event, at) or changed
        return changed

    def events(self) -> Iterator[dict[str, Any]]:
        try:
            with files.open_regular(self.path) as handle:
                handle.seek(self.offset)
                chunk = handle.read(MAX_LINE)
        except OSError:
            return
        self.offset += len(chunk)
        lines = (self.partial + chunk).split(b"\n")
        self.partial = lines.pop()
        if len(self.partial) > MAX_LINE:
            self.partial = b""  # a runaway line: drop it rather than hold it
        for line in lines:
            event = parse(line)
            if event is not None:
                yield event

    def apply(self, event: dict[str, Any], at: float) -> bool:
        activity = self.activity
        activity.last_event = at
        kind = event.get("type")
        before = (activity.now, activity.turns, activity.tool_calls, len(activity.files))
        if kind == "system" and isinstance(event.get("cwd"), str):
            self.cwd = self.cwd or event["cwd"]
        elif kind == "assistant":
            self._assistant(event.get("message"), at)
        elif kind == "user":
            self._set_now("thinking", at)  # a tool answered: the model is on it again
        elif kind == "result":
            activity.cost_usd = result_fields.read(event).cost_usd  # (checked as untrusted)
            self._set_now("finished", at)
        return before != (activity.now, activity.turns, activity.tool_calls,
                          len(activity.files))

    def _assistant(self, message: Any, at: float) -> None:
        if not isinstance(message, dict):
            return
        message_id = message.get("id")
        if isinstance(message_id, str) and message_id not in self._message_ids:
            self._message_ids.add(message_id)
            self.activity.turns += 1
        for block in message.get("content") or []:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_use":
                self._tool(str(block.get("name", "tool")), block.get("input"), at)
            elif block.get("type") in ("text", "thinking"):
                self._set_now("thinking", at)

    def _tool(self, name: str, tool_input: Any, at: float) -> None:
        activity = self.activity
        activity.tool_calls += 1
        self._set_now(summarise_tool(name, tool_input, self.cwd), at)
        path = tool_input.get("file_path") if isinstance(tool_input, dict) else None
        if name in _EDITS and isinstance(path, str) and len(activity.files) < MAX_FILES:
            relative = _relative(path, self.cwd)
            if relative not in activity.files:
                activity.files.append(relative)

    def _set_now(self, now: str, at: float) -> None:
        if now != self.activity.now:
            self.activity.now, self.activity.since = now, at


def parse(line: bytes) -> dict[str, Any] | None:
    """One event, or None for anything that is not a JSON object."""
    line = line.strip()
    if not line.startswith(b"{"):
        return None
    try:
        found = json.loads(line)
    except (ValueError, RecursionError):  # not JSON, or nested past Python's stack
        return None
    return found if isinstance(found, dict) else None
