"""`dispatch clean`: stop a feature's sessions, remove its worktrees and the branches it
made once their work is merged, archive its state — refusing, and saying which and why,
wherever something could be lost (the rules are in clean_plan.py).

Everything dispatch keeps goes to `.worktrees/.archive/<feature>-<time>/`: sessions.json,
plan.json, COORDINATION.md, INTEGRATION.md, logs/, results/, compare/ (how competing teams
compared), each worktree's RESULTS.md and
TASKS.md, and whatever else was in the feature folder (moved there, never deleted).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from dispatch.commands.clean_plan import CleanPlan, Removal, plan
from dispatch.gitops import refs, remotes, worktrees
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
from dispatch.workspace import workfiles

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
    """Carry out a plan; returns what was done, one line each (refusals go to `kept`)."""
    done = [f"stopped {name}" for name in client.stop(paths, None)]
    archive = _archive_folder(paths)
    with try_lock(paths.lock("start"), f"feature '{paths.feature}' is busy",
                  "wait for 'dispatch start' to finish"), \
            try_lock(paths.lock("integrate"), f"feature '{paths.feature}' is busy",
                     "wait for 'dispatch integrate' to finish"):
        for removal in clean_plan.worktrees:
            done += _remove_worktree(paths, removal, archive, clean_plan)
        worktrees.prune(paths.root)
        checked_out = {w.branch for w in worktrees.listed(paths.root) if w.branch}
        for branch in clean_plan.branches:
            if branch in clean_plan.not_picked and branch in checked_out:
                clean_plan.kept.append(f"branch {branch}: its worktree stays (see above), "
                                       "so does the branch")
                continue
            refs.delete_branch(paths.root, branch)
            why = clean_plan.not_picked.get(branch)
            done.append(f"deleted branch {branch}" + (f" ({why})" if why else ""))
        done += _forget(paths, clean_plan, archive)
    if clean_plan.remote_name and clean_plan.remote_branches:
        remotes.delete(paths.root, clean_plan.remote_name, clean_plan.remote_branches,
                       retry_delay)
        done += [f"deleted {clean_plan.remote_name}/{b}" for b in clean_plan.remote_branches]
    return done


def _archive_folder(paths: FeaturePaths) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return paths.root / WORKTREES / ARCHIVE / f"{paths.feature}-{stamp}"


def _remove_worktree(paths: FeaturePaths, removal: Removal, archive: Path,
                     clean_plan: CleanPlan) -> list[str]:
    _keep_working_files(removal, archive)
    shown = paths.relative(removal.path)
    if removal.forced:
        worktrees.remove(paths.root, removal.path)
        return [f"removed worktree {shown} (--force)"]
    workfiles.ensure_work_dir(removal.path)  # a worker may have deleted its .gitignore
    refused = worktrees.remove_if_clean(paths.root, removal.path)
    if refused is None:
        return [f"removed worktree {shown}"]
    clean_plan.kept.append(f"worktree {shown}: git refused to remove it ({refused}); pass "
                           "--force to remove it anyway")
    clean_plan.kept_names.add(removal.name)
    return []


def _keep_working_files(removal: Removal, archive: Path) -> None:
    """TASKS.md and RESULTS.md live only in the worktree until it is done: keep them."""
    for name in (workfiles.TASKS, workfiles.RESULTS):
        text = workfiles.read_work_file(removal.path, name)
        if text is not None:
            target = archive / "workstreams" / removal.name / Path(name).name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)


def _forget(paths: FeaturePaths, clean_plan: CleanPlan, archive: Path) -> list[str]:
    """Archive the state; move what is not dispatch's into the archive; drop the feature
    folder when nothing of it is left, else forget the workstreams that are gone."""
    archive.mkdir(parents=True, exist_ok=True)
    for name in _ARCHIVED:
        source = paths.dir / name
        if source.is_dir():
            shutil.copytree(source, archive / name, dirs_exist_ok=True)
        elif source.is_file():
            shutil.copy2(source, archive / name)
    lines = [f"archived the state, logs and results to {paths.relative(archive)}"]
    if not clean_plan.everything:
        StateStore(paths).update(lambda state: _drop_records(state, clean_plan))
        return lines
    others = archive / "other"
    for entry in clean_plan.archive:
        others.mkdir(parents=True, exist_ok=True)
        shutil.move(entry, others / entry.name)
        lines.append(f"moved {paths.relative(entry)} (not dispatch's) to "
                     f"{paths.relative(others / entry.name)}")
    shutil.rmtree(paths.dir, ignore_errors=True)
    lines.append(f"removed {paths.relative(paths.dir)}")
    return lines


def _drop_records(state: FeatureState, clean_plan: CleanPlan) -> None:
    """Forget the workstreams that are entirely gone: worktree and branch."""
    for name in list(state.workstreams):
        if state.workstreams[name].branch in clean_plan.branches and \
                name not in clean_plan.kept_names:
            del state.workstreams[name]


def describe(paths: FeaturePaths, state: FeatureState, clean_plan: CleanPlan) -> list[str]:
    running = [n for n, r in state.workstreams.items() if r.status in ("running", "retrying")]
    lines = [f"would stop {name}" for name in running]
    lines += [f"would remove worktree {paths.relative(r.path)}" +
              (" (--force)" if r.forced else "") for r in clean_plan.worktrees]
    lines += [f"would delete branch {b}" + (f" ({clean_plan.not_picked[b]})"
                                            if b in clean_plan.not_picked else "")
              for b in clean_plan.branches]
    lines += [f"would delete {clean_plan.remote_name}/{b}" for b in clean_plan.remote_branches]
    where = "into the archive" if clean_plan.everything else \
        "nowhere: it stays while the feature folder does"
    lines += [f"would move {paths.relative(entry)} (not dispatch's) {where}"
              for entry in clean_plan.archive]
    lines.append(f"would archive the state, logs and results under {WORKTREES}/{ARCHIVE}/")
    return lines
