"""`dispatch start`'s first half: worktrees, branches, .env and ports, setup, task files.

Order matters for crash safety: the record is saved before its branch and worktree are made,
registration happens one worktree at a time (git races otherwise), checkouts and setup run in
parallel, and each step is skipped when a previous run already did it. A workstream whose
provisioning raises is taken back to what it was before this run.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from pathlib import Path

from dispatch.core.errors import DispatchError
from dispatch.gitops import refs, tree, worktrees
from dispatch.gitops.repository import Repo
from dispatch.state.locks import FileLock, try_lock
from dispatch.state.model import FeatureState, SetupResult
from dispatch.state.paths import FeaturePaths
from dispatch.state.picks import TeamRecord
from dispatch.state.plan import Plan
from dispatch.state.store import StateStore, write_if_changed
from dispatch.workspace import briefing, preflight
from dispatch.workspace.envfile import write_worktree_env
from dispatch.workspace.preflight import Job, Preparation, StartOptions
from dispatch.workspace.setup import detect, run_setup

Progress = Callable[[str], None]
CHECKOUT_THREADS = 4  # checkouts are I/O and kernel bound: a few more threads than cores


def start_lock(feature_dir: Path, feature: str) -> FileLock:
    return try_lock(feature_dir / ".start.lock",
                    f"feature '{feature}' is busy: another 'dispatch start' is provisioning it",
                    "wait for it to finish, then run this again")


def provision(repo: Repo, plan: Plan, options: StartOptions,
              progress: Progress = lambda _msg: None,
              warn: Progress = lambda _msg: None) -> FeatureState:
    """Make every workstream ready to run; returns the saved state."""
    paths = FeaturePaths(repo.root, plan.feature)
    folder = paths.dir
    # Before anything is written there (even a lock file): the folder must be dispatch's.
    preflight.expect_feature_folder_is_dispatchs(paths, worktrees.listed(repo.root))
    preflight.expect_no_strangers(paths, plan)
    created_dir = not folder.exists()
    if created_dir:
        preflight.prepare(repo, plan, options)  # every guard, before any change
        folder.mkdir(parents=True, exist_ok=True)
    # With the feature's folder there, another start may be half-way: take its lock before
    # judging what is on disk, so that run is reported busy, not as a broken state.
    lock = start_lock(folder, plan.feature)
    try:
        prep = preflight.prepare(repo, plan, options)
        _env_warnings(prep, warn)
        return _provision_locked(prep, plan, options, progress)
    except BaseException:
        if created_dir and not StateStore(FeaturePaths(repo.root, plan.feature)).exists():
            _remove_empty_feature_dir(folder)
        raise
    finally:
        lock.release()


def _remove_empty_feature_dir(folder: Path) -> None:
    for leftover in folder.glob(".*.lock"):
        leftover.unlink(missing_ok=True)
    try:
        folder.rmdir()
        folder.parent.rmdir()  # .worktrees itself, if this was its only feature
    except OSError:
        pass


def _provision_locked(prep: Preparation, plan: Plan, options: StartOptions,
                      progress: Progress) -> FeatureState:
    store = StateStore(prep.paths)
    worktrees.ensure_excluded(prep.repo.git_dir)
    _save_records(store, prep, plan)
    _protect_env(prep)
    _materialize(store, prep, progress)
    _write_files(store, prep)
    _setup_all(store, prep, options, progress)
    return store.load()


def _save_records(store: StateStore, prep: Preparation, plan: Plan) -> None:
    prep.paths.logs.mkdir(exist_ok=True)
    if prep.state is None:
        spec = Path(plan.spec)
        if spec.is_relative_to(prep.repo.root):
            spec = spec.relative_to(prep.repo.root)
        store.create(FeatureState(feature=plan.feature, spec=spec.as_posix(), base=prep.base,
                                  base_ref=plan.base, plan=plan))

    def add(state: FeatureState) -> None:
        state.plan = plan
        for job in prep.jobs:
            state.workstreams.setdefault(job.ws.name, job.record)
        for ws in plan.workstreams:  # a workstream run by teams: their comparison and pick
            if ws.teams is not None:
                team = state.teams.setdefault(ws.name, TeamRecord())
                team.attempts = [attempt.name for attempt in ws.attempts()]

    store.update(add)


def _env_warnings(prep: Preparation, warn: Progress) -> None:
    env = prep.env
    if env is not None and env.tracked:
        warn(".env is tracked by git, so its secrets are in your history; consider "
             "'git rm --cached .env' and adding it to .gitignore")
    elif env is not None and not env.ignored:
        warn(".env is not ignored by git; dispatch adds '/.env' to .git/info/exclude so that "
             "workers cannot commit it")


def _protect_env(prep: Preparation) -> None:
    env = prep.env
    if env is not None and not env.tracked and not env.ignored:
        # An untracked, unignored .env copied into worktrees would be committed by a
        # worker's `git add -A`: keep it out through .git/info/exclude.
        worktrees.ensure_excluded(prep.repo.git_dir, "/.env")


def _materialize(store: StateStore, prep: Preparation, progress: Progress) -> None:
    """Create branches, register worktrees one at a time, and check each out in a thread as
    soon as it is registered (the checkouts overlap the remaining registrations)."""
    made: dict[str, dict[str, object]] = {}
    checkouts: dict[str, Future[None]] = {}
    with ThreadPoolExecutor(max_workers=CHECKOUT_THREADS) as pool:
        try:
            _create_branches(prep)
            for job in prep.jobs:
                if job.register:
                    progress(f"registering worktree {job.ws.name}")
                    _register(prep, job)
                if job.create_branch or job.register:
                    made[job.ws.name] = {"created_branch": job.record.created_branch or
                                         job.create_branch, "checked_out": False}
                if not _checked_out(prep, job):
                    checkouts[job.ws.name] = pool.submit(tree.checkout,
                                                         prep.paths.worktree(job.ws.name))
        except BaseException:
            _drop_unregistered_branches(prep, made)
            raise
        finally:
            failed = _record_checkouts(store, made, checkouts)
    if failed:
        for name in failed:
            _roll_back(store, prep, next(job for job in prep.jobs if job.ws.name == name))
        name, exc = next(iter(failed.items()))
        raise DispatchError(f"could not check out the worktree of '{name}': {exc}; it was "
                            "rolled back — fix the cause and run dispatch start again")


def _create_branches(prep: Preparation) -> None:
    """All new branches in one transaction: all are made, or none."""
    refs.create_branches(prep.repo.root, [job.record.branch for job in prep.jobs
                                          if job.create_branch], prep.base)


def _register(prep: Preparation, job: Job) -> None:
    root, path = prep.repo.root, prep.paths.worktree(job.ws.name)
    if job.replace:
        worktrees.remove(root, path)
    try:
        worktrees.register(root, path, job.record.branch, reclaim=job.reclaim)
    except BaseException:
        if job.create_branch:
            refs.delete_branch_if_unchanged(root, job.record.branch, prep.base)
        raise


def _drop_unregistered_branches(prep: Preparation, made: dict[str, dict[str, object]]) -> None:
    for job in prep.jobs:
        if job.create_branch and job.ws.name not in made:
            refs.delete_branch_if_unchanged(prep.repo.root, job.record.branch, prep.base)


def _record_checkouts(store: StateStore, made: dict[str, dict[str, object]],
                      checkouts: dict[str, Future[None]]) -> dict[str, BaseException]:
    """Wait for the checkouts, save what was made, and return the failures by workstream."""
    failed: dict[str, BaseException] = {}
    for name, future in checkouts.items():
        exc = future.exception()
        if exc is None:
            made.setdefault(name, {})["checked_out"] = True
        else:
            failed[name] = exc
    if made:
        store.set_many(made)
    return failed


def _checked_out(prep: Preparation, job: Job) -> bool:
    if job.register:
        return False  # registered by this run with --no-checkout
    # A run killed between the checkout and its record finds the files there already.
    return job.record.checked_out or tree.is_checked_out(prep.paths.worktree(job.ws.name))


def _roll_back(store: StateStore, prep: Preparation, job: Job) -> None:
    root = prep.repo.root
    if job.register:
        worktrees.remove(root, prep.paths.worktree(job.ws.name))
    if job.create_branch:
        refs.delete_branch_if_unchanged(root, job.record.branch, prep.base)
    store.set(job.ws.name, checked_out=False)


def _write_files(store: StateStore, prep: Preparation) -> None:
    state = store.load()
    for job in prep.jobs:
        worktree = prep.paths.worktree(job.ws.name)
        record = state.workstreams[job.ws.name]
        if prep.env is not None and record.status == "provisioning":
            write_worktree_env(prep.env, worktree, record.ports)
        briefing.write_tasks(prep.paths, state, job.ws)
    briefing.write_coordination(prep.paths, state)
    write_if_changed(prep.paths.plan_file, state.plan.model_dump_json(indent=2) + "\n")


def _setup_all(store: StateStore, prep: Preparation, options: StartOptions,
               progress: Progress) -> None:
    """New worktrees get their setup command (recorded as pending, or run now); a setup
    that failed in an earlier run is tried again."""
    state = store.load()
    names = [job.ws.name for job in prep.jobs]
    fresh = [n for n in names if state.workstreams[n].status == "provisioning"]
    retry = [n for n in names if state.workstreams[n].setup.status == "failed" and
             state.workstreams[n].status in ("setup_failed", "pending")]
    commands = {n: options.setup or state.plan.setup or detect(prep.paths.worktree(n))
                for n in fresh}
    commands.update({n: state.workstreams[n].setup.command for n in retry})
    to_run = [n for n in [*fresh, *retry] if options.run_setup and commands[n]]
    changes: dict[str, dict[str, object]] = {
        n: {"setup": _no_setup(commands[n]), "status": "pending"} for n in fresh
        if n not in to_run}
    if not options.setup_now:
        changes.update({n: {"setup": SetupResult(command=commands[n], status="pending"),
                            "status": "pending", "error": None} for n in to_run})
    if changes:
        store.set_many(changes)
    if options.setup_now and to_run:
        _run_setups(store, prep, options, {n: commands[n] for n in to_run}, progress)


def _run_setups(store: StateStore, prep: Preparation, options: StartOptions,
                commands: dict[str, str | None], progress: Progress) -> None:
    progress(f"running setup in {len(commands)} worktree(s)")
    state = store.load()
    with ThreadPoolExecutor(max_workers=min(options.setup_jobs, len(commands))) as pool:
        futures = {pool.submit(_setup_one, prep, name, command, state): name
                   for name, command in commands.items()}
        for future in as_completed(futures):  # record each as it ends: status shows progress
            store.set(futures[future], setup=future.result(), status="pending")


def _no_setup(command: str | None) -> SetupResult:
    return SetupResult(command=command, status="skipped" if command else "none")


def _setup_one(prep: Preparation, name: str, command: str | None,
               state: FeatureState) -> SetupResult:
    assert command is not None
    log = prep.paths.logs / f"{name}.setup.log"
    env = {key: str(port) for key, port in state.workstreams[name].ports.items()}
    return run_setup(command, prep.paths.worktree(name), log, env, prep.paths.relative(log))
