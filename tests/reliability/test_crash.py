"""Crash injection: SIGKILL a real `python -m dispatch ...` at a seeded random moment, run the
same command again, and check that nothing was lost, duplicated or left blocking.

(a) `dispatch start specs/x.md --wait` killed (the process, or its whole process group);
(b) the detached supervisor killed at a random moment of its life;
(c) `dispatch integrate` killed while it merges.

Each command has FAST_TRIALS sanity trials and SLOW_TRIALS `slow` ones; a failed trial reports
its seed, delay and kill mode with its evidence, and the seed is in the test id
(`-k seed21224124`). The bugs these trials found are fixed; each also has a deterministic
regression test below that reaches its state on purpose instead of by chance (a smudge filter
holds git inside a checkout or a fast-forward, a hook holds a supervisor before its lock, the
fake claude's barriers hold sessions): those never depend on the machine's speed.
Helpers and the measured durations: tests/support/crash.py.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dispatch.state.locks import FileLock
from dispatch.state.paths import FeaturePaths
from tests.support.crash import (
    FEATURE,
    INTEGRATE_SECONDS,
    NAMES,
    SESSION_SCRIPT,
    START_WAIT_SECONDS,
    SUPERVISOR_SECONDS,
    Evidence,
    Ran,
    build_repo,
    check_sessions_converged,
    fast_and_slow,
    feature_branches,
    finished,
    freeze_checkouts,
    git_ok,
    git_text,
    held_locks,
    kill,
    kill_plan,
    run_dispatch,
    run_killed,
    spawn,
    state_json,
    stop_everything,
    supervisor_hook,
    supervisor_of,
    user_view,
    wait_dead,
    wait_for_supervisor,
    wait_quiet,
    worktree_list,
)
from tests.support.fakes import FakeClaude
from tests.support.gitrepo import git
from tests.support.integrate import FOUR, work
from tests.support.waiting import wait_for

START_FAST, START_SLOW = fast_and_slow("start")
SUPERVISOR_FAST, SUPERVISOR_SLOW = fast_and_slow("supervisor")
INTEGRATE_FAST, INTEGRATE_SLOW = fast_and_slow("integrate")
FOUR_NAMES = ("api", "web", "cli", "docs")


def _ids(seed: int) -> str:
    return f"seed{seed}"


@pytest.fixture
def trial_repo(tmp_path: Path) -> Iterator[Path]:
    repo = build_repo(tmp_path / "repo")
    yield repo
    stop_everything(repo)


@pytest.fixture
def four_repo(tmp_path: Path) -> Iterator[Path]:
    repo = build_repo(tmp_path / "repo", "four.md", FOUR)
    yield repo
    stop_everything(repo)


# --- (a) dispatch start --wait ------------------------------------------------------------

def start_trial(repo: Path, fake: FakeClaude, seed: int, logs: Path) -> None:
    rng = random.Random(seed)
    plan = kill_plan(rng, seed, START_WAIT_SECONDS, group_share=0.25)
    fake.script(SESSION_SCRIPT)
    before = user_view(repo, FEATURE)
    args = ("start", "specs/x.md", "--wait")
    killed = run_killed(repo, args, plan, logs / "killed.log")
    rerun = run_dispatch(repo, *args)
    evidence = Evidence(f"crash trial (a) `dispatch start specs/x.md --wait`: {plan}")
    evidence.add("killed run", killed)
    evidence.add("rerun", rerun)
    with evidence.printed_on_failure():
        check_sessions_converged(repo, FEATURE, NAMES, before, rerun, fake.calls, evidence)


@pytest.mark.parametrize("seed", START_FAST, ids=_ids)
def test_start_wait_killed_then_rerun_converges(trial_repo: Path, fake_claude: FakeClaude,
                                                seed: int, tmp_path: Path) -> None:
    start_trial(trial_repo, fake_claude, seed, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("seed", START_SLOW, ids=_ids)
def test_start_wait_killed_then_rerun_converges_slow(trial_repo: Path, fake_claude: FakeClaude,
                                                     seed: int, tmp_path: Path) -> None:
    start_trial(trial_repo, fake_claude, seed, tmp_path)


# --- (b) the supervisor -------------------------------------------------------------------

def supervisor_trial(repo: Path, fake: FakeClaude, seed: int, logs: Path) -> None:
    """The delay runs from the moment the supervisor holds its lock, so kills land over its
    whole life: while it launches, while sessions run, while it merges docs' dependency."""
    rng = random.Random(seed)
    plan = kill_plan(rng, seed, SUPERVISOR_SECONDS, group_share=0.25)
    target = "specs/x.md" if rng.random() < 0.5 else FEATURE
    fake.script(SESSION_SCRIPT)
    before = user_view(repo, FEATURE)
    clock = time.monotonic()
    starter = spawn(repo, ("start", "specs/x.md"), logs / "start.log")
    first = wait_for_supervisor(repo, FEATURE, starter)
    time.sleep(plan.delay)
    pid = supervisor_of(repo, FEATURE)
    if pid is not None:
        kill(pid, group=plan.group)
        wait_dead(pid)
    started = finished(starter, logs / "start.log", clock)
    rerun = run_dispatch(repo, "start", target, "--wait")
    evidence = Evidence(f"crash trial (b) supervisor of `dispatch start specs/x.md`: {plan}; "
                        f"rerun `dispatch start {target} --wait`")
    evidence.add("start", started)
    evidence.add("supervisor", f"pid {pid} killed" if pid else
                 f"pid {first} had already exited")
    evidence.add("rerun", rerun)
    with evidence.printed_on_failure():
        # `start` fails when its supervisor dies before deciding every launch: that is its
        # documented answer, and the rerun must recover from it.
        assert started.code == 0 or (started.code == 1 and pid is not None and
                                     "the supervisor stopped before" in started.output), \
            evidence
        check_sessions_converged(repo, FEATURE, NAMES, before, rerun, fake.calls, evidence)


@pytest.mark.parametrize("seed", SUPERVISOR_FAST, ids=_ids)
def test_killed_supervisor_then_rerun_converges(trial_repo: Path, fake_claude: FakeClaude,
                                                seed: int, tmp_path: Path) -> None:
    supervisor_trial(trial_repo, fake_claude, seed, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("seed", SUPERVISOR_SLOW, ids=_ids)
def test_killed_supervisor_then_rerun_converges_slow(trial_repo: Path,
                                                     fake_claude: FakeClaude,
                                                     seed: int, tmp_path: Path) -> None:
    supervisor_trial(trial_repo, fake_claude, seed, tmp_path)


# --- (c) dispatch integrate ---------------------------------------------------------------

def provision_four_done(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`start --no-agents` (in-process: quicker), then a worker's commit in each."""
    from dispatch.cli import main

    monkeypatch.chdir(repo)
    assert main(["start", "specs/four.md", "--no-agents"]) == 0
    for name in FOUR_NAMES:
        work(repo, name, {f"{name}/{name}.txt": f"{name}'s work\n"}, feature="four")


def integrate_trial(repo: Path, seed: int, logs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    plan = kill_plan(rng, seed, INTEGRATE_SECONDS, group_share=0.25)
    verify = rng.random() < 1 / 3  # with a verify command the branch moves after each merge
    provision_four_done(repo, monkeypatch)
    before = user_view(repo, "four")
    args = ("integrate", *(("--verify", "true") if verify else ()))
    killed = run_killed(repo, args, plan, logs / "killed.log")
    rerun = run_dispatch(repo, *args)
    evidence = Evidence(f"crash trial (c) `dispatch {' '.join(args)}`: {plan}")
    evidence.add("killed run", killed)
    evidence.add("rerun", rerun)
    with evidence.printed_on_failure():
        check_integrated(repo, before, rerun, evidence)


def check_integrated(repo: Path, before: dict[str, str], rerun: Ran,
                     evidence: Evidence) -> None:
    raw, entries = worktree_list(repo)
    evidence.add("git worktree list --porcelain", raw)
    integration = repo / ".worktrees" / "four" / "integration"
    evidence.add("integration worktree status", git_text(integration, "status", "--porcelain"))
    evidence.add("first-parent log of four/integration", git_text(
        repo, "log", "--first-parent", "--format=%s", "four/integration"))
    evidence.add("sessions.json integration", _integration_state(repo))
    assert rerun.code == 0, evidence

    subjects = git(repo, "log", "--first-parent", "--format=%s", "four/integration").splitlines()
    for name in FOUR_NAMES:
        assert subjects.count(f"Merge {name} workstream") == 1, evidence
        assert git_ok(repo, "cat-file", "-e", f"four/integration:{name}/{name}.txt"), evidence
    assert git(integration, "status", "--porcelain", "--untracked-files=all") == "", evidence
    assert git(integration, "symbolic-ref", "--short", "HEAD") == "four/integration", evidence
    data = state_json(repo, "four")
    merges = {n: m["status"] for n, m in data["integration"]["merges"].items()}
    assert merges == dict.fromkeys(FOUR_NAMES, "merged"), f"merges {merges}\n{evidence}"
    assert (repo / ".worktrees" / "four" / "INTEGRATION.md").is_file(), evidence
    at_integration = [e for e in entries if e.branch == "refs/heads/four/integration"]
    assert len(at_integration) == 1 and Path(at_integration[0].path).resolve() == \
        integration.resolve(), evidence
    assert not [e for e in entries if set(e.flags) & {"locked", "prunable"}], evidence
    assert feature_branches(repo, "four") == sorted(
        [f"four/{n}" for n in FOUR_NAMES] + ["four/integration"]), evidence
    assert user_view(repo, "four") == before, f"the user's checkout changed\n{evidence}"
    assert not held_locks(repo, "four"), evidence


def _integration_state(repo: Path) -> str:
    try:
        data = json.loads((repo / ".worktrees" / "four" / "sessions.json").read_text())
    except (OSError, ValueError) as exc:
        return f"unreadable: {exc!r}"
    return json.dumps(data.get("integration"), indent=1)[:3000]


@pytest.mark.parametrize("seed", INTEGRATE_FAST, ids=_ids)
def test_integrate_killed_then_rerun_converges(four_repo: Path, seed: int, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    integrate_trial(four_repo, seed, tmp_path, monkeypatch)


@pytest.mark.slow
@pytest.mark.parametrize("seed", INTEGRATE_SLOW, ids=_ids)
def test_integrate_killed_then_rerun_converges_slow(four_repo: Path, seed: int, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    integrate_trial(four_repo, seed, tmp_path, monkeypatch)


# --- deterministic reproductions of what random trials ran into ------------------------------

def test_start_killed_inside_worktree_checkouts_then_rerun_converges(
        trial_repo: Path, fake_claude: FakeClaude, tmp_path: Path) -> None:
    """The process group dies while all four new worktrees are being filled by `git reset
    --hard` (a smudge filter holds them there), as a random trial of (a) sometimes does."""
    freezer = freeze_checkouts(trial_repo, tmp_path / "freeze")
    freezer.freeze()
    fake_claude.script(SESSION_SCRIPT)
    before = user_view(trial_repo, FEATURE)
    args = ("start", "specs/x.md", "--wait")
    clock = time.monotonic()
    proc = spawn(trial_repo, args, tmp_path / "killed.log")
    freezer.wait_entered(proc, count=len(NAMES))  # every worktree registered, all held
    kill(proc.pid, group=True)
    killed = finished(proc, tmp_path / "killed.log", clock)
    freezer.thaw()
    rerun = run_dispatch(trial_repo, *args)
    evidence = Evidence("`dispatch start specs/x.md --wait` killed (process group) inside the "
                        "worktree checkouts")
    evidence.add("killed run", killed)
    evidence.add("rerun", rerun)
    evidence.add("index.lock files", sorted(
        str(p.relative_to(trial_repo)) for p in (trial_repo / ".git").rglob("index.lock")))
    with evidence.printed_on_failure():
        check_sessions_converged(trial_repo, FEATURE, NAMES, before, rerun,
                                 fake_claude.calls, evidence)


def test_integrate_killed_inside_its_checkout_then_rerun_converges(
        four_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`dispatch integrate` dies while its new integration worktree is checked out — after
    it made the integration branch — as a random trial of (c) sometimes does."""
    integrate_killed_while_frozen(four_repo, tmp_path, monkeypatch,
                                  "inside the checkout of the integration worktree")


def test_start_wait_after_a_supervisor_died_waits_for_the_new_one(
        trial_repo: Path, fake_claude: FakeClaude, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The supervisor dies while it merges api into docs before docs' session (a smudge
    filter on api's work file holds the merge): api, web and cli are done, docs is
    `waiting`. `dispatch start x --wait` must stay until the new supervisor has run docs,
    however long that supervisor takes to take its lock: a hook holds it before its lock
    while the command looks at it again and again."""
    hook = supervisor_hook(tmp_path / "hook", monkeypatch)
    freezer = freeze_checkouts(trial_repo, tmp_path / "freeze", "work/api.txt")
    api = fake_claude.barrier("api")  # api ends after web and cli
    fake_claude.script({"api": [api.step()]})
    before = user_view(trial_repo, FEATURE)
    freezer.freeze()
    clock = time.monotonic()
    starter = spawn(trial_repo, ("start", "specs/x.md"), tmp_path / "start.log")
    wait_for(lambda: statuses(trial_repo) == {"api": "running", "web": "done", "cli": "done",
                                              "docs": "waiting"}, "web and cli did not end")
    api.release()
    freezer.wait_entered()
    pid = supervisor_of(trial_repo, FEATURE)
    assert pid is not None
    kill(pid, group=False)
    wait_dead(pid)
    freezer.thaw()  # the orphaned merge finishes; the record never hears of it
    wait_quiet(trial_repo / ".worktrees" / FEATURE / "docs")
    started = finished(starter, tmp_path / "start.log", clock)
    assert statuses(trial_repo) == {"api": "done", "web": "done", "cli": "done",
                                    "docs": "waiting"}, started
    hook.arm()
    rerun_proc = spawn(trial_repo, ("start", FEATURE, "--wait"), tmp_path / "rerun.log")
    hook.wait_started(1)
    hook.wait_polls(rerun_proc, 5)  # it keeps waiting for the supervisor it started,
    assert list(hook.started().values()) == [rerun_proc.pid]  # and starts no other
    hook.release()
    rerun = finished(rerun_proc, tmp_path / "rerun.log", clock)
    evidence = Evidence("supervisor killed inside docs' dependency merge; rerun "
                        "`dispatch start x --wait`")
    evidence.add("start", started)
    evidence.add("rerun", rerun)
    with evidence.printed_on_failure():
        check_sessions_converged(trial_repo, FEATURE, NAMES, before, rerun,
                                 fake_claude.calls, evidence)


def test_a_supervisor_meeting_a_lock_probe_does_not_abandon_the_feature(
        trial_repo: Path, fake_claude: FakeClaude, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """After a supervisor was killed with sessions running, `dispatch start x --wait` starts
    a new one; at the instant it tries its lock, a probe holds it (`dispatch status`, or the
    wait loop of `start --wait` itself, take the lock to see whether it is free; on a loaded
    machine a probe can be descheduled while it holds it). A hook holds the new supervisor
    before its lock until the test holds the lock, and says that it found the lock busy."""
    hook = supervisor_hook(tmp_path / "hook", monkeypatch)
    barrier = fake_claude.barrier("sessions")
    fake_claude.script({"*": [barrier.step()]})
    before = user_view(trial_repo, FEATURE)
    clock = time.monotonic()
    starter = spawn(trial_repo, ("start", "specs/x.md"), tmp_path / "start.log")
    first = wait_for_supervisor(trial_repo, FEATURE, starter)
    started = finished(starter, tmp_path / "start.log", clock)
    assert first is not None, started
    kill(first, group=False)
    wait_dead(first)
    assert statuses(trial_repo) == {"api": "running", "web": "running", "cli": "running",
                                    "docs": "waiting"}
    hook.arm()
    rerun_proc = spawn(trial_repo, ("start", FEATURE, "--wait"), tmp_path / "rerun.log")
    [(second, _)] = hook.wait_started(1).items()
    probe = FileLock(FeaturePaths(trial_repo, FEATURE).lock("supervisor"))
    assert probe.acquire(timeout=10)  # the command's own probes hold it only for instants
    hook.release()
    try:
        assert hook.wait_tried(second) == "busy"
    finally:
        probe.release()
    barrier.release()
    rerun = finished(rerun_proc, tmp_path / "rerun.log", clock, timeout=30)
    evidence = Evidence("a new supervisor met a lock probe; `dispatch start x --wait`")
    evidence.add("start", started)
    evidence.add("rerun", rerun)
    with evidence.printed_on_failure():
        check_sessions_converged(trial_repo, FEATURE, NAMES, before, rerun,
                                 fake_claude.calls, evidence)


def statuses(repo: Path) -> dict[str, str]:
    if not (repo / ".worktrees" / FEATURE / "sessions.json").exists():
        return {}  # `start` has not written it yet
    return {n: r["status"] for n, r in state_json(repo, FEATURE)["workstreams"].items()}


def test_integrate_killed_inside_its_final_fast_forward_then_rerun_converges(
        four_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The merges are made in memory; the integration worktree then catches up with one
    fast-forward. The process group dies while that fast-forward writes the merged files
    (a smudge filter on the last one, web/web.txt, holds it there), as a random trial of (c)
    sometimes does."""
    integrate_killed_while_frozen(four_repo, tmp_path, monkeypatch,
                                  "inside the fast-forward of the integration worktree",
                                  "web/web.txt")


def test_integrate_killed_just_after_git_registered_its_worktree_then_rerun_converges(
        four_repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`git worktree add` first registers the worktree (its HEAD all zeros, locked
    "initializing"), then sets HEAD and checks the files out. The kill is made inside that
    checkout (a smudge filter holds it), and the worktree is then put back to what git had
    written at the earlier instant, as a random trial of (c) left it."""
    def registered_only(repo: Path) -> None:
        worktree = repo / ".worktrees" / "four" / "integration"
        admin = Path(git(worktree, "rev-parse", "--absolute-git-dir"))
        (admin / "HEAD").write_text("0" * 40 + "\n")
        (admin / "locked").write_text("initializing")
        for leftover in ("index", "index.lock"):
            (admin / leftover).unlink(missing_ok=True)
        for path in worktree.iterdir():
            if path.is_dir():
                shutil.rmtree(path)
            elif path.name != ".git":
                path.unlink()

    integrate_killed_while_frozen(four_repo, tmp_path, monkeypatch,
                                  "just after git registered the integration worktree",
                                  then=registered_only)


def integrate_killed_while_frozen(four_repo: Path, tmp_path: Path,
                                  monkeypatch: pytest.MonkeyPatch, where: str,
                                  *frozen: str,
                                  then: Callable[[Path], None] | None = None) -> None:
    """Kill `dispatch integrate`'s process group while git is held writing `frozen` files
    (all of the feature's base when none are named), `then` change what the kill left, then
    rerun it and check convergence."""
    freezer = freeze_checkouts(four_repo, tmp_path / "freeze", *frozen)
    provision_four_done(four_repo, monkeypatch)
    freezer.freeze()
    before = user_view(four_repo, "four")
    clock = time.monotonic()
    proc = spawn(four_repo, ("integrate",), tmp_path / "killed.log")
    freezer.wait_entered(proc)
    kill(proc.pid, group=True)
    killed = finished(proc, tmp_path / "killed.log", clock)
    freezer.thaw()
    if then is not None:
        wait_quiet(four_repo / ".worktrees" / "four" / "integration")
        then(four_repo)
    rerun = run_dispatch(four_repo, "integrate")
    evidence = Evidence(f"`dispatch integrate` killed (process group) {where}")
    evidence.add("killed run", killed)
    evidence.add("rerun", rerun)
    with evidence.printed_on_failure():
        check_integrated(four_repo, before, rerun, evidence)
