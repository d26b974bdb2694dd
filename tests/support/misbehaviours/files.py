"""Misbehaviours with files: huge ones, notes where dispatch keeps its own (the feature folder,
.workstream/, logs/), links out of the repository, named pipes, names that are not UTF-8, and
the working files (TASKS.md, RESULTS.md) deleted, committed or linked elsewhere."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from tests.support.misbehaving_worker import Reply, Worker, identity

HUGE = 2 * 1024**3  # a sparse file: 2 GiB to anything that reads it, no disk used


def _sparse(w: Worker, path: Path) -> None:
    with path.open("wb") as out:
        out.truncate(HUGE)
    w.files[str(path)] = identity(path)


def huge_file(w: Worker) -> Reply | None:
    """A 2 GiB file in the feature folder (the session has --add-dir on it)."""
    w.work()
    _sparse(w, w.feature_dir / f"{w.ws}-dump-{w.run}.bin")
    return None


def huge_results(w: Worker) -> Reply | None:
    w.work()
    with Path(".workstream/RESULTS.md").open("ab") as out:
        out.truncate(HUGE)
    return None


def notes(w: Worker) -> Reply | None:
    """Notes in the feature folder: beside the state, in a folder of its own, in COORDINATION.md
    (which every worker may append to), and in logs/."""
    w.work()
    w.wrote(w.feature_dir / f"NOTES-{w.ws}-{w.run}.md", f"# notes of {w.ws}\n")
    w.wrote(w.feature_dir / f"{w.ws}-scratch-{w.run}" / "draft.txt", f"{w.ws}: a draft\n")
    w.wrote(w.feature_dir / "logs" / f"{w.ws}-own-log-{w.run}.txt", f"{w.ws}: my log\n")
    with (w.feature_dir / "COORDINATION.md").open("a") as out:
        out.write(f"\n- {w.ws}: I changed the shared API\n")
    return None


def scribble_sibling(w: Worker) -> Reply | None:
    """An untracked file in another workstream's worktree."""
    w.work()
    siblings = sorted(p for p in w.feature_dir.iterdir()
                      if (p / ".git").is_file() and p.resolve() != w.home.resolve())
    if siblings:
        w.wrote(siblings[0] / f"from-{w.ws}-{w.run}.txt", f"{w.ws} was here\n")
    return None


def delete_tasks(w: Worker) -> Reply | None:
    Path(".workstream/TASKS.md").unlink(missing_ok=True)
    w.work()
    return None


def symlink_results_outside(w: Worker) -> Reply | None:
    """RESULTS.md made a link to a secret outside the repository."""
    w.work()
    results = Path(".workstream/RESULTS.md")
    results.unlink(missing_ok=True)
    results.symlink_to(w.outside / "planted" / "secret.txt")
    return None


def symlink_workstream_dir(w: Worker) -> Reply | None:
    """.workstream/ moved outside the repository and replaced by a link to it."""
    w.work()
    target = _workstream_moved_out(w)
    for path in target.rglob("*"):
        if path.is_file():
            w.files[str(path)] = identity(path)
    return None


def workstream_notes(w: Worker) -> Reply | None:
    """Notes of its own in .workstream/, the folder it was told git ignores."""
    w.work()
    w.wrote(w.home / ".workstream" / "NOTES.md", f"# {w.ws}: what I learned\n")
    w.wrote(w.home / ".workstream" / "plan" / "step-1.md", f"{w.ws}: first step\n")
    return None


def squat_integration_report(w: Worker) -> Reply | None:
    """Its integration notes in the feature folder's INTEGRATION.md."""
    w.work()
    w.wrote(w.feature_dir / "INTEGRATION.md", f"# integration notes of {w.ws}\n")
    return None


def squat_integration_dir(w: Worker) -> Reply | None:
    """A folder `integration/` in the feature folder, before dispatch makes its worktree."""
    w.work()
    w.wrote(w.feature_dir / "integration" / f"plan-{w.ws}.md", f"{w.ws}: merge order\n")
    return None


def fifo_in_logs(w: Worker) -> Reply | None:
    """A named pipe (for its own processes to talk through) left in the feature's logs/."""
    w.work()
    os.mkfifo(w.feature_dir / "logs" / f"{w.ws}-pipe-{w.run}")
    return None


def stdout_fifo(w: Worker) -> Reply | None:
    """Its result file in logs/ replaced by a named pipe: a reader waits for a writer that
    never comes. Not in the campaign (it would cost a command timeout): see
    test_misbehaving_regressions.py."""
    w.work()
    own = Path("/proc/self/fd/1").readlink()
    own.unlink()
    os.mkfifo(own)
    return None


def delete_logs(w: Worker) -> Reply | None:
    """Tidies up the feature folder's logs/ (its own result file among them)."""
    w.work()
    shutil.rmtree(w.feature_dir / "logs", ignore_errors=True)
    return None


def non_utf8_name(w: Worker) -> Reply | None:
    """Commits a file whose name is not UTF-8 (bytes are all a name is, to git)."""
    (w.home / "work").mkdir(exist_ok=True)
    (w.home / "work" / os.fsdecode(b"bad-\xff\xfe.txt")).write_text("a name of bytes\n")
    w.work()
    return None


def touch_shared(w: Worker) -> Reply | None:
    """Every worker doing this writes the same file: they conflict at integration."""
    w.work("conflict")
    return None


def delete_gitignore(w: Worker) -> Reply | None:
    """Without .workstream/.gitignore its `git add -A` takes TASKS.md and RESULTS.md."""
    Path(".workstream/.gitignore").unlink(missing_ok=True)
    w.work()
    w.git("add", "-A")
    w.git("commit", "-q", "-m", f"{w.ws}: everything")
    return None


def force_add_workfiles(w: Worker) -> Reply | None:
    w.work()
    w.git("add", "-f", ".workstream/RESULTS.md", ".workstream/TASKS.md")
    w.git("commit", "-q", "-m", f"{w.ws}: my notes too")
    return None


def commit_workstream_link(w: Worker) -> Reply | None:
    """.workstream/ moved outside the repository, linked, and the link committed."""
    w.work()
    _workstream_moved_out(w)
    w.git("add", "-f", ".workstream")
    w.git("commit", "-q", "-m", f"{w.ws}: my notes live elsewhere")
    return None


BEHAVIOURS: dict[str, Callable[[Worker], Reply | None]] = {
    "huge_file": huge_file,
    "huge_results": huge_results,
    "notes": notes,
    "scribble_sibling": scribble_sibling,
    "delete_tasks": delete_tasks,
    "symlink_results_outside": symlink_results_outside,
    "symlink_workstream_dir": symlink_workstream_dir,
    "workstream_notes": workstream_notes,
    "squat_integration_report": squat_integration_report,
    "squat_integration_dir": squat_integration_dir,
    "fifo_in_logs": fifo_in_logs,
    "delete_logs": delete_logs,
    "non_utf8_name": non_utf8_name,
    "touch_shared": touch_shared,
    "delete_gitignore": delete_gitignore,
    "force_add_workfiles": force_add_workfiles,
    "commit_workstream_link": commit_workstream_link,
}
# Kept out of the campaign (see misbehaviours/__init__.py).
SPECIAL: dict[str, Callable[[Worker], Reply | None]] = {
    "stdout_fifo": stdout_fifo,
}


def _workstream_moved_out(w: Worker) -> Path:
    """Move .workstream/ outside the repository and leave a link to it in its place."""
    target = w.outside / "links" / f"{w.ws}-{w.run}"
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        Path(".workstream").rename(target)
        Path(".workstream").symlink_to(target)
    return target
