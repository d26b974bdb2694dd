"""A workstream's working files inside its worktree (light: `status` reads them).

TASKS.md and RESULTS.md live in `<worktree>/.workstream/`, a folder holding a `.gitignore` of
`*`: git ignores the folder and everything in it, in that worktree only, for every git client
and a worker's `git add -A` alike. They never reach a commit, so they can never conflict in
the integration branch, and nothing in the user's repository or config has to change.
"""

from __future__ import annotations

import re
from pathlib import Path

from dispatch.core.errors import DispatchError

WORK_DIR = ".workstream"
TASKS = f"{WORK_DIR}/TASKS.md"
RESULTS = f"{WORK_DIR}/RESULTS.md"
_BOX = re.compile(r"^\s*[-*+] \[([ xX])\]", re.M)


MAX_WORK_FILE = 1024 * 1024  # a RESULTS.md is a page or two; more is not read


class WorkDirError(DispatchError):
    """The worktree's `.workstream` is not a plain folder of its own."""


def ensure_work_dir(worktree: Path) -> None:
    """Make `.workstream/` with its `.gitignore`; refuse to write through a symlink (a
    repository or a worker could point it anywhere on the machine)."""
    folder = worktree / WORK_DIR
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        raise WorkDirError(f"{folder} is a symlink or a file, not a folder: dispatch keeps the "
                           "workstream's TASKS.md and RESULTS.md there and writes nothing "
                           f"through links; remove it from the repository (git rm {WORK_DIR})")
    folder.mkdir(exist_ok=True)
    ignore = folder / ".gitignore"
    if ignore.is_symlink():
        ignore.unlink()
    if not ignore.is_file():
        ignore.write_text("# dispatch's per-workstream files: never committed\n*\n")


def own_file(worktree: Path, name: str) -> Path | None:
    """`<worktree>/<name>` when it is a regular file reached through no symlink, else None:
    a worker that links RESULTS.md to a secret elsewhere gets nothing read or copied."""
    path = worktree / name
    try:
        inside = all(not p.is_symlink() for p in (path, path.parent)) and path.is_file()
    except OSError:
        return None
    return path if inside else None


def read_work_file(worktree: Path, name: str) -> str | None:
    path = own_file(worktree, name)
    if path is None:
        return None
    try:
        with path.open("rb") as handle:
            return handle.read(MAX_WORK_FILE).decode("utf-8", errors="replace")
    except OSError:
        return None


def read_results(worktree: Path) -> str | None:
    return read_work_file(worktree, RESULTS)


def count_tasks(worktree: Path) -> tuple[int, int]:
    """(ticked, total) checkboxes in the Tasks section of the workstream's TASKS.md."""
    text = read_work_file(worktree, TASKS)
    if text is None:
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
