"""A workstream's tasks as a work list: items with ids and files, cut into batches.

Pure functions of the plan, so that the queue (sessions/queue.py) and TASKS.md (written
before any queue state exists) cut the same first batch.
"""

from __future__ import annotations

import re

from dispatch.state.model import Batch, QueueItem
from dispatch.state.plan import Workstream

# A path an item names: in backticks (`src/app.py`, `src/app.py:12:4`), else a bare word
# such as src/app.py:12 — something with a file extension, optionally a folder and a line.
_QUOTED = re.compile(r"`([^`\s]+)`")
_BARE = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w-][\w.-]*\.[A-Za-z]\w{0,9})(?::\d+)*(?![\w/])")
_LINE_SUFFIX = re.compile(r"(?::\d+)+$")


def items(ws: Workstream) -> list[QueueItem]:
    """One item per task line, in spec order; its id is `<workstream>:<n>`."""
    return [QueueItem(id=f"{ws.name}:{n}", text=task, file=file_of(task))
            for n, task in enumerate(ws.tasks, start=1)]


def file_of(text: str) -> str | None:
    """The first path the text names, without a `:line[:col]` suffix; None when it names
    none (such an item's batch is never taken by another workstream)."""
    for quoted in _QUOTED.findall(text):
        path = _LINE_SUFFIX.sub("", quoted)
        if _looks_like_path(path):
            return path
    found = _BARE.search(text)
    return found[1] if found else None


def _looks_like_path(text: str) -> bool:
    if text.startswith("-") or ".." in text.split("/"):
        return False
    return "/" in text or bool(re.search(r"\.[A-Za-z]\w{0,9}$", text))


def cut(ws: Workstream, size: int) -> list[Batch]:
    """The workstream's items in batches of `size` (the last may be smaller)."""
    listed = items(ws)
    return [Batch(owner=ws.name, number=i // size + 1, items=listed[i : i + size])
            for i in range(0, len(listed), size)]
