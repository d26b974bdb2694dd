"""Before `dispatch start` changes anything: every guard, and what is left to do.

`prepare` only reads (git, files, ports); it raises a DispatchError naming the fix, or returns
the jobs that provisioning will carry out. It runs again under the feature's lock, so a run
that waited for another one sees the other's work.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from dispatch.core.errors import DispatchError
from dispatch.gitops import history, refs, repository, worktrees
from dispatch.state.model import FeatureState, SessionRecord
from dispatch.state.paths import FeaturePaths
from dispatch.state.plan import Plan, Workstream
from dispatch.state.store import StateStore
from dispatch.workspace import ports
from dispatch.workspace.envfile import EnvSource, read_root_env
from dispatch.workspace.workfiles import WORK_DIR

PATH_MAX = os.pathconf("/", "PC_PATH_MAX") if hasattr(os, "pathconf") else 4096


@dataclass
class StartOptions:
    base: str | None = None
    base_port: int | None = None
    setup: str | None = None
    run_setup: bool = True
    # Run setup before returning (`--no-agents`: nobody else will), or leave it to the
    # supervisor, which runs it before each workstream's session (so `start` returns fast).
    setup_now: bool = True
    copy_env: bool = True
    force: bool = False
    setup_jobs: int = 4


@dataclass
class Job:
    ws: Workstream
    record: SessionRecord
    new_record: bool
    create_branch: bool = False
    register: bool = False
    reclaim: bool = False  # re-register a worktree whose folder was deleted by hand
    replace: bool = False  # remove a half-made registration at the path first


@dataclass
class Preparation:
    repo: repository.Repo
    paths: FeaturePaths
    base: str
    state: FeatureState | None
    env: EnvSource | None
    jobs: list[Job] = field(default_factory=list)
    half_made: set[Path] = field(default_factory=set)


def prepare(repo: repository.Repo, plan: Plan, options: StartOptions) -> Preparation:
    repository.expect_no_operation_in_progress(repo)
    repository.expect_identity(repo)
    paths = FeaturePaths(repo.root, plan.feature)
    store = StateStore(paths)
    state = store.load() if store.exists() else None
    base = _base(repo, plan, options, state)
    _expect_writable(paths)
    env = read_root_env(repo.root) if options.copy_env else None
    prep = Preparation(repo, paths, base, state, env)
    branches = refs.local_branches(repo.root)
    listed = worktrees.listed(repo.root)
    expect_feature_folder_is_dispatchs(paths, listed)
    held = {wt.branch: wt for wt in listed if wt.branch}
    # `git worktree add` killed half-way leaves a path git knows, detached, with no commit.
    prep.half_made = {wt.path.resolve() for wt in listed if wt.branch is None and
                      (wt.head is None or set(wt.head) == {"0"})}
    taken = ports.recorded_ports(repo.root)
    bases = ports.base_ports(options.base_port, plan.base_port, env)
    for position, ws in enumerate(plan.attempts(), start=1):  # each team gets its own
        record = state.workstreams.get(ws.name) if state else None
        job = _job(prep, ws, record, branches, held, options)
        if job.new_record:
            job.record.ports = ports.assign(bases, position, taken)
        prep.jobs.append(job)
    _expect_short_paths(prep)
    _expect_plain_work_dir(prep)
    return prep


def expect_feature_folder_is_dispatchs(paths: FeaturePaths,
                                       listed: list[worktrees.Worktree]) -> None:
    """Refuse when `.worktrees/<feature>` (or a folder above it) is a git worktree someone
    made by hand: `.worktrees/<name>` is a common place for them."""
    folder, root = paths.dir.resolve(), paths.root.resolve()
    for worktree in listed:
        path = worktree.path.resolve()
        if path != root and (folder == path or path in folder.parents):
            what = f"branch {worktree.branch}" if worktree.branch else "a detached HEAD"
            raise DispatchError(
                f"{paths.relative(paths.dir)} is inside a git worktree that dispatch did not "
                f"make ({path}, on {what}); dispatch keeps its features there: move that "
                "worktree away ('git worktree move') or name the feature differently")


def expect_no_strangers(paths: FeaturePaths, plan: Plan) -> None:
    """A feature folder without dispatch's state must hold nothing but dispatch's own lock
    files (and folders where worktrees go, judged one by one later): anything else is
    someone's, and mixing a feature into it would hide it."""
    if not paths.dir.is_dir() or paths.state_file.exists() or paths.plan_file.exists():
        return
    planned = {ws.name for ws in plan.attempts()}
    strangers = sorted(e.name for e in paths.dir.iterdir() if e.name not in planned and
                       not re.fullmatch(r"\.\w+\.lock|logs", e.name))
    if strangers:
        raise DispatchError(f"{paths.relative(paths.dir)} already holds files that dispatch "
                            f"did not write ({', '.join(strangers[:3])}); move them away, or "
                            "name the feature differently ('feature:' in the spec)")


def _base(repo: repository.Repo, plan: Plan, options: StartOptions,
          state: FeatureState | None) -> str:
    repository.expect_commits(repo)
    wanted = options.base or plan.base
    if state is None:
        return repository.resolve_base(repo, wanted)
    if options.base and repository.resolve_base(repo, options.base) != state.base:
        raise DispatchError(f"feature '{plan.feature}' was started from {state.base[:12]}; "
                            f"--base {options.base} differs: drop --base, or clean the feature "
                            "first ('dispatch clean')")
    return state.base


def _expect_writable(paths: FeaturePaths) -> None:
    """The nearest existing folder must accept new files (tried, not guessed: root ignores
    permission bits, but not read-only mounts or immutable folders)."""
    folder = next(f for f in (paths.dir, paths.dir.parent, paths.root) if f.exists())
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise DispatchError(f"{paths.relative(folder) if folder != paths.root else folder} is "
                            f"not writable ({exc.strerror}); fix its permissions and run "
                            "dispatch start again") from None


def _job(prep: Preparation, ws: Workstream, record: SessionRecord | None, branches: set[str],
         held: dict[str, worktrees.Worktree], options: StartOptions) -> Job:
    paths = prep.paths
    path = paths.worktree(ws.name)
    branch = record.branch if record else (ws.branch or f"{paths.feature}/{ws.name}")
    job = Job(ws, record or SessionRecord(name=ws.name, branch=branch,
                                          path=paths.relative(path), depends_on=ws.depends_on,
                                          team_of=ws.team_of, team=ws.team),
              new_record=record is None)
    if branch in branches:
        _expect_adoptable(prep, job, force=options.force)
    else:
        conflict = refs.ref_conflict(branch, branches)
        if conflict:
            raise DispatchError(f"branch '{branch}' cannot be created because branch "
                                f"'{conflict}' exists; rename one ('git branch -m {conflict} "
                                "<new>') or set 'feature:' in the spec's frontmatter")
        job.create_branch = True
    _plan_worktree(job, path, held.get(branch), paths, prep.half_made)
    return job


def _expect_adoptable(prep: Preparation, job: Job, *, force: bool) -> None:
    """A branch that exists already is worked on only when dispatch made it, or it is the
    default `<feature>/<workstream>` name at exactly the base (a run whose state was lost),
    or `--force` says so. Adopted branches are never deleted by `clean`."""
    branch, root = job.record.branch, prep.repo.root
    if not job.new_record and job.record.created_branch:
        return
    tip = refs.branch_commit(root, branch)
    default = branch == f"{prep.paths.feature}/{job.ws.name}"
    if force or (default and tip == prep.base):
        return
    if not default:
        raise DispatchError(f"branch '{branch}' (the **Branch** of workstream '{job.ws.name}') "
                            "already exists and dispatch did not make it; its worker would "
                            "commit on it: name a new branch in the spec, or pass --force to "
                            "let it work on that branch as it is")
    extra = refs.count_commits(root, f"{prep.base}..refs/heads/{branch}")
    where = f"with {extra} commit(s) not in the base" if extra else \
        f"at {(tip or '')[:10]}, behind the base {prep.base[:10]},"
    raise DispatchError(f"branch '{branch}' already exists {where} and was not made by this "
                        "feature; rename or delete it yourself, or pass --force to adopt it "
                        "as it is")


def _plan_worktree(job: Job, path: Path, holder: worktrees.Worktree | None, paths: FeaturePaths,
                   half_made: set[Path]) -> None:
    branch = job.record.branch
    if holder is not None and holder.path.resolve() != path.resolve():
        if holder.path.resolve() == paths.root.resolve():
            raise DispatchError(f"branch '{branch}' is checked out in your own checkout; "
                                "switch to another branch first (e.g. 'git switch -')")
        raise DispatchError(f"branch '{branch}' is already checked out at {holder.path}; "
                            f"switch that checkout to another branch, or remove it "
                            f"('git worktree remove {holder.path}')")
    if holder is not None:
        job.reclaim = holder.prunable or not path.exists()
        job.register = job.reclaim
        return
    if path.resolve() in half_made:  # dispatch's own, never checked out: redo it
        job.replace = job.register = True
        return
    if path.exists() and not _empty_dir(path):
        raise DispatchError(f"{paths.relative(path)} exists but is not the worktree of "
                            f"'{branch}'; move it away and run dispatch start again")
    job.register = True


def _empty_dir(path: Path) -> bool:
    return path.is_dir() and not any(path.iterdir())


def _expect_short_paths(prep: Preparation) -> None:
    longest = max(map(len, history.file_names(prep.repo.root, prep.base)), default=0)
    for job in prep.jobs:
        full = len(str(prep.paths.worktree(job.ws.name))) + 1 + longest
        if full >= PATH_MAX:
            raise DispatchError(f"worktree paths for '{job.ws.name}' would be {full} characters "
                                f"long (the limit is {PATH_MAX}); move the repository to a "
                                "shorter path or use shorter names")


def _expect_plain_work_dir(prep: Preparation) -> None:
    """A `.workstream` that the base commit holds as a symlink or a file would make every
    worktree's TASKS.md land wherever it points."""
    entry = history.top_level_entry(prep.repo.root, prep.base, WORK_DIR)
    if entry is not None and not entry.startswith("040000 "):
        raise DispatchError(f"the base commit holds '{WORK_DIR}' as a symlink or a file; "
                            "dispatch keeps each worktree's TASKS.md and RESULTS.md in that "
                            f"folder: remove it from the repository ('git rm {WORK_DIR}') "
                            "and commit, then start again")
