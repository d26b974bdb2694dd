"""`dispatch clean`: stop a feature's sessions, remove its worktrees and the branches it
made once their work is merged, archive its state — refusing, and saying which and why,
wherever something could be lost (the rules are in clean_plan.py).

The order holds a promise: everything is decided first (clean_plan.py), and what acts
after that never stops half-way on a worker's doing — whatever cannot go as planned is
kept and named. Sessions stop; processes the runs left in a worktree stop before it goes;
each worktree's `.workstream/` moves into the archive before git removes the worktree; a
branch is deleted only if it still points where it was checked (compare-and-delete).

Everything dispatch keeps goes to `.worktrees/.archive/<feature>-<time>/` (clean_archive.py):
sessions.json, plan.json, COORDINATION.md, INTEGRATION.md, logs/, results/, compare/ (how
competing teams compared), each removed worktree's `.workstream/` (the worker's own files
there too), and whatever else was in the feature folder (moved there, never deleted).
"""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

from dispatch.commands import clean_archive
from dispatch.commands.clean_plan import CleanPlan, Removal, expect_idle, plan, where
from dispatch.core import strays
from dispatch.core.errors import DispatchError
from dispatch.core.text import visible_line
from dispatch.gitops import refs, remotes, tree, worktrees
from dispatch.integration.batches import SCRATCH
from dispatch.sessions import client
from dispatch.state.locks import try_lock
from dispatch.state.model import FeatureState
from dispatch.state.paths import (
    ARCHIVE,
    COMPARE,
    COORDINATION,
    LOGS,
    PLAN_FILE,
    REPORT,
    RESULTS,
    STATE_FILE,
    WORKTREES,
    FeaturePaths,
)
from dispatch.state.store import StateStore
from dispatch.workspace.workfiles import WORK_DIR

__all__ = ["CleanPlan", "describe", "execute", "plan", "remote_branches"]
_ARCHIVED = (STATE_FILE, REPORT, COORDINATION, PLAN_FILE, LOGS, RESULTS, COMPARE)


def remote_branches(paths: FeaturePaths, state: FeatureState, clean_plan: CleanPlan,
                    remote: str, all_: bool) -> None:
    """Add the feature's branches on `remote` whose tips the integration branch holds."""
    remotes.expect_remote(paths.root, remote)
    target = refs.branch_commit(paths.root, state.integration.branch) \
        if state.integration is not None else None
    clean_plan.remote_name = remote
    for branch, sha in remotes.heads(paths.root, remote, f"{state.feature}/*").items():
        if branch.endswith("/integration") and not all_:
            continue
        if target and refs.commit_of(paths.root, sha) and \
                refs.is_ancestor(paths.root, sha, target):
            clean_plan.remote_branches.append(branch)


def execute(paths: FeaturePaths, clean_plan: CleanPlan, retry_delay: float) -> list[str]:
    """Carry out a plan; returns what was done, one line each (refusals go to `kept`).
    The supervisor's lock is held throughout, so that none starts while clean works."""
    busy = f"feature '{paths.feature}' is busy"
    expect_idle(paths)
    with try_lock(paths.lock("supervisor"), busy, "wait for its supervisor to finish"), \
            try_lock(paths.lock("start"), busy, "wait for 'dispatch start' to finish"), \
            try_lock(paths.lock("integrate"), busy, "wait for 'dispatch integrate' to finish"):
        expect_idle(paths)  # (one that started since the plan was made)
        done = [f"stopped {name}" for name in client.stop(paths, None)]  # runs left alone
        archive = _archive_folder(paths)
        done += _remove_scratch(paths, clean_plan)
        done += _stop_strays(paths, clean_plan)
        heads = {w.path.resolve(): w.head for w in worktrees.listed(paths.root)}
        for removal in list(clean_plan.worktrees):
            done += _remove_worktree(paths, removal, archive, clean_plan, heads)
        worktrees.prune(paths.root)
        done += _delete_branches(paths, clean_plan)
        done += _forget(paths, clean_plan, archive)
    if clean_plan.remote_name and clean_plan.remote_branches:
        remotes.delete(paths.root, clean_plan.remote_name, clean_plan.remote_branches,
                       retry_delay)
        done += [f"deleted {clean_plan.remote_name}/{b}" for b in clean_plan.remote_branches]
    return done


def _archive_folder(paths: FeaturePaths) -> Path:
    try:
        return clean_archive.new_folder(paths)
    except OSError as exc:
        raise DispatchError(f"cannot make an archive folder under {WORKTREES}/{ARCHIVE} "
                            f"({exc.strerror or exc}); make it writable, then clean again "
                            "(nothing was removed)") from None


def _remove_scratch(paths: FeaturePaths, clean_plan: CleanPlan) -> list[str]:
    """integrate --batch's scratch worktrees: still detached, they go whatever they hold."""
    detached = {w.path.resolve() for w in worktrees.listed(paths.root) if w.branch is None}
    done = []
    for path in clean_plan.scratch:
        if path.resolve() in detached:
            worktrees.remove(paths.root, path)
            done.append(f"removed scratch worktree {paths.relative(path)} (integrate --batch's)")
        else:
            clean_plan.kept.append(f"worktree {paths.relative(path)}: it is no longer a "
                                   "detached scratch worktree; look at it, then clean again")
    if clean_plan.scratch:
        worktrees.prune(paths.root)
        with contextlib.suppress(OSError):
            (paths.dir / SCRATCH).rmdir()  # (only when empty: nothing else is ever lost)
    return done


def _stop_strays(paths: FeaturePaths, clean_plan: CleanPlan) -> list[str]:
    """Stop what the runs left working in the worktrees that go (looked for again: the plan's
    list is a moment old); a worktree with a person's process, or one that will not stop,
    stays."""
    going = [r for r in clean_plan.worktrees if r.owner is not None]
    found = strays.find([r.owner for r in going if r.owner is not None]) if going else {}
    done = []
    for removal in going:
        shown = paths.relative(removal.path)
        found_here = found.get(removal.path, [])
        person = next((s for s in found_here if s.on_terminal), None)
        left = [person] if person else strays.stop(found_here)
        done += [f"stopped process {s.pid} ({visible_line(s.command)}) left working in {shown}"
                 for s in found_here if s not in left]
        if left:
            _keep(clean_plan, removal, f"worktree {shown}: process {left[0].pid} "
                  f"({visible_line(left[0].command)}) still works in it; end it, then clean "
                  "again")
    return done


def _keep(clean_plan: CleanPlan, removal: Removal, why: str) -> None:
    clean_plan.worktrees.remove(removal)
    clean_plan.kept.append(why)
    clean_plan.kept_names.add(removal.name)


def _remove_worktree(paths: FeaturePaths, removal: Removal, archive: Path,
                     clean_plan: CleanPlan, heads: dict[Path, str | None]) -> list[str]:
    shown = paths.relative(removal.path)
    head = heads.get(removal.path.resolve())
    if head != removal.head:  # a commit since the check (a stopped child saving its work)
        _keep(clean_plan, removal, f"worktree {shown}: its HEAD moved while clean ran; run "
              "'dispatch clean' again to check it anew")
        return []
    folder = clean_archive.work_dir(removal.path)
    tracked = folder is not None and tree.is_tracked(removal.path, WORK_DIR)
    try:
        moved = clean_archive.keep_work_dir(folder, archive, removal.name, tracked=tracked) \
            if folder else None
    except OSError as exc:
        _keep(clean_plan, removal, f"worktree {shown}: its {WORK_DIR}/ could not be moved into "
              f"the archive ({exc.strerror or exc}); move it away yourself, then clean again")
        return []
    if removal.forced:
        worktrees.remove(paths.root, removal.path)
        return [f"removed worktree {shown} (--force)", *_moved(paths, removal, moved)]
    refused = worktrees.remove_if_clean(paths.root, removal.path)
    if refused is None:
        return [f"removed worktree {shown}", *_moved(paths, removal, moved)]
    if moved is not None and folder is not None:
        clean_archive.undo_keep(moved, folder, tracked=tracked)
    _keep(clean_plan, removal, f"worktree {shown}: git refused to remove it ({refused}); "
          "pass --force to remove it anyway")
    return []


def _moved(paths: FeaturePaths, removal: Removal, moved: Path | None) -> list[str]:
    if moved is None:
        return []
    return [f"moved {paths.relative(removal.path)}/{WORK_DIR}/ "
            f"({_names(clean_archive.work_files(moved))}) to {paths.relative(moved)}"]


def _names(files: list[str], most: int = 5) -> str:
    shown = ", ".join(visible_line(name) for name in files[:most])
    more = f" and {len(files) - most} more" if len(files) > most else ""
    return f"{shown}{more}" if files else "empty"


def _delete_branches(paths: FeaturePaths, clean_plan: CleanPlan) -> list[str]:
    """Delete each branch only where it still is what was checked (a commit since keeps
    it) and no worktree that stays has it checked out (git removes fewer than planned when
    it refuses)."""
    staying = {w.branch: w.path for w in worktrees.listed(paths.root)
               if w.branch and not w.prunable}
    done = []
    for branch, commit in list(clean_plan.branches.items()):
        if branch in staying:
            del clean_plan.branches[branch]
            clean_plan.kept.append(f"branch {branch}: checked out in "
                                   f"{where(paths, staying[branch])}, which stays")
        elif refs.delete_branch(paths.root, branch, commit):
            why = clean_plan.not_picked.get(branch)
            done.append(f"deleted branch {branch}" + (f" ({why})" if why else ""))
        elif (now := refs.branch_commit(paths.root, branch)) is None:
            done.append(f"branch {branch} was gone already")
        else:
            del clean_plan.branches[branch]
            clean_plan.kept.append(f"branch {branch}: it moved while clean ran ({commit[:10]} "
                                   f"-> {now[:10]}); integrate it, then clean again")
    return done


def _forget(paths: FeaturePaths, clean_plan: CleanPlan, archive: Path) -> list[str]:
    """Archive the state (moved when the feature folder goes, else copied); move what is not
    dispatch's into the archive; drop the feature folder when nothing of it is left, else
    forget the workstreams that are gone."""
    try:
        lines = _archive_state(paths, archive, move=clean_plan.everything)
    except OSError as exc:
        raise DispatchError(f"cannot archive the state of feature '{paths.feature}' to "
                            f"{paths.relative(archive)} ({exc.strerror or exc}); what is not "
                            f"archived is still in {paths.relative(paths.dir)}: fix that, "
                            "then run 'dispatch clean' again") from None
    if not clean_plan.everything:
        StateStore(paths).update(lambda state: _drop_records(state, clean_plan))
        return lines
    for entry in clean_plan.archive:
        target = archive / "other" / entry.relative_to(paths.dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        left = clean_archive.transfer(entry, target, move=True)
        lines.append(f"moved {paths.relative(entry)} (not dispatch's) to "
                     f"{paths.relative(target)}")
        lines += _left_out(paths, left)
    shutil.rmtree(paths.dir, ignore_errors=True)
    lines.append(f"removed {paths.relative(paths.dir)}")
    return lines


def _archive_state(paths: FeaturePaths, archive: Path, *, move: bool) -> list[str]:
    left: list[Path] = []
    for name in _ARCHIVED:
        source = paths.dir / name
        if source.is_symlink() or source.exists():
            left += clean_archive.transfer(source, archive / name, move=move)
    lines = [f"archived the state, logs and results to {paths.relative(archive)}"]
    return lines + _left_out(paths, left)


def _left_out(paths: FeaturePaths, left: list[Path]) -> list[str]:
    return [f"left {paths.relative(p)} out of the archive: {clean_archive.kind(p)}, which "
            "holds no data" for p in left]


def _drop_records(state: FeatureState, clean_plan: CleanPlan) -> None:
    """Forget the workstreams that are entirely gone: worktree and branch."""
    for name in list(state.workstreams):
        if state.workstreams[name].branch in clean_plan.branches and \
                name not in clean_plan.kept_names:
            del state.workstreams[name]


def describe(paths: FeaturePaths, state: FeatureState, clean_plan: CleanPlan) -> list[str]:
    running = [n for n, r in state.workstreams.items() if r.status in ("running", "retrying")]
    lines = [f"would stop {name}" for name in running]
    lines += [f"would remove scratch worktree {paths.relative(path)} (integrate --batch's, "
              "detached: nobody's work)" for path in clean_plan.scratch]
    for removal in clean_plan.worktrees:
        shown = paths.relative(removal.path)
        lines += [f"would stop process {s.pid} ({visible_line(s.command)}) left working in "
                  f"{shown}" for s in removal.strays]
        lines.append(f"would remove worktree {shown} ({removal.why})")
        if removal.work_files:
            lines.append(f"would move {shown}/{WORK_DIR}/ ({_names(removal.work_files)}) into "
                         "the archive")
    lines += [f"would delete branch {b} ({clean_plan.branch_reasons[b]})"
              for b in clean_plan.branches]
    lines += [f"would delete {clean_plan.remote_name}/{b}" for b in clean_plan.remote_branches]
    lines += [f"would keep branch {b} ({why})" for b, why in clean_plan.staying.items()]
    place = "into the archive" if clean_plan.everything else \
        "nowhere: it stays while the feature folder does"
    lines += [f"would move {paths.relative(entry)} (not dispatch's) {place}"
              for entry in clean_plan.archive]
    lines.append(f"would archive the state, logs and results under {WORKTREES}/{ARCHIVE}/")
    return lines
