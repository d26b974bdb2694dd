"""A workstream's working files inside its worktree (light: `status` reads them).

TASKS.md and RESULTS.md live in `<worktree>/.workstream/`, a folder holding a `.gitignore` of
`*`: git ignores the folder and everything in it, in that worktree only, for every git client
and a worker's `git add -A` alike. They never reach a commit, so they can never conflict in
the integration branch, and nothing in the user's repository or config has to change.
"""

from __future__ import annotations

import re
from pathlib import Path

WORK_DIR = ".workstream"
TASKS = f"{WORK_DIR}/TASKS.md"
RESULTS = f"{WORK_DIR}/RESULTS.md"
_BOX = re.compile(r"^\s*[-*+] \[([ xX])\]", re.M)


def ensure_work_dir(worktree: Path) -> None:
    folder = worktree / WORK_DIR
    folder.mkdir(exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.is_file():
        ignore.write_text("# dispatch's per-workstream files: never committed\n*\n")


def read_results(worktree: Path) -> str | None:
    try:
        return (worktree / RESULTS).read_text(errors="replace")
    except OSError:
        return None


def count_tasks(worktree: Path) -> tuple[int, int]:
    """(ticked, total) checkboxes in the Tasks section of the workstream's TASKS.md."""
    try:
        text = (worktree / TASKS).read_text(errors="replace")
    except OSError:
        return (0, 0)
    start, end = tasks_section(text)
    boxes = [m[1] for m in _BOX.finditer(text, start, end)]
    return (sum(box in "xX" for box in boxes), len(boxes))


def tasks_section(text: str) -> tuple[int, int]:
    """Character span of the '## Tasks' section (the whole text if there is none)."""
    heading = re.search(r"^## Tasks[ \t]*$", text, flags=re.M)
    if heading is None:
        return (0, len(text))
    after = re.search(r"^## ", text[heading.end():], flags=re.M)
    return (heading.end(), heading.end() + after.start() if after else len(text))
