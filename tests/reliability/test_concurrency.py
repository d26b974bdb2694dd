"""Concurrency: many dispatch processes on one feature at the same instant.

(a) eight fake workers finish at one wall-clock moment while ten `status --json`, `resume`
    and `stop` commands run, and a reader parses sessions.json in a tight loop;
(b) two `dispatch start --no-agents` launched at the same moment.

Real git and real dispatch processes throughout; only `claude` is faked (its "until" step
makes the workers finish together). The races these trials found are fixed and kept as
deterministic regression tests at the end.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest

from dispatch.state.locks import FileLock, is_held
from dispatch.state.paths import FeaturePaths
from dispatch.state.store import StateStore
from tests.support.crash import (
    MASTER_SEED,
    Evidence,
    Ran,
    build_repo,
    dispatch_argv,
    feature_branches,
    finished,
    held_locks,
    run_dispatch,
    seeds,
    session_evidence,
    spawn,
    state_json,
    stop_everything,
    supervisor_hook,
    supervisor_processes,
    user_view,
    wait_dead,
    wait_for_supervisor,
    worktree_list,
)
from tests.support.fakes import Barrier, FakeClaude
from tests.support.waiting import wait_for

EIGHT = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel")
FEATURE = "eight"


def eight_spec() -> str:
    blocks = [f"### Workstream {i}: {name.title()}\n**Files**: `{name}/**`\n- [ ] task {i}\n"
              for i, name in enumerate(EIGHT, 1)]
    return "# Eight\n## Workstreams\n" + "".join(blocks)


@pytest.fixture
def eight_repo(tmp_path: Path) -> Iterator[Path]:
    repo = build_repo(tmp_path / "repo", "eight.md", eight_spec(), files=20)
    yield repo
    stop_everything(repo)


@pytest.fixture
def x_repo(tmp_path: Path) -> Iterator[Path]:
    repo = build_repo(tmp_path / "repo", files=20)
    yield repo
    stop_everything(repo)


# --- (a) eight workers finish at one moment, under a storm of commands ----------------------

class TornReader(threading.Thread):
    """Parses sessions.json over and over; keeps what it could not parse."""

    def __init__(self, path: Path) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.reads = 0
        self.torn: list[str] = []
        self.missing = 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            try:
                text = self.path.read_text()
            except FileNotFoundError:
                self.missing += 1
                continue
            try:
                json.loads(text)
            except ValueError as exc:
                self.torn.append(f"{exc}: {text[:200]!r}…{text[-200:]!r}")
            self.reads += 1

    def stop(self) -> None:
        self._done.set()
        self.join(10)


@dataclass
class Call:
    kind: str  # "status", "resume" or "stop"
    target: str | None
    fired_at: float = 0.0
    ran: Ran | None = None

    def __str__(self) -> str:
        ran = self.ran
        if ran is None:
            return f"{self.kind} {self.target or ''}: did not run"
        shown = f"{len(ran.output)} characters" if self.kind == "status" and ran.code == 0 \
            else ran.output.strip()[:300]
        return (f"{self.kind} {self.target or ''} fired at moment{self.fired_at:+.3f}s, took "
                f"{ran.seconds:.2f}s: exit {ran.code}: {shown}")


@dataclass
class Storm:
    """Ten commands in threads. A dispatch process needs `latency` seconds (measured: the
    box may be loaded) to start and act, so status and resume are fired that long before
    the workers' moment; each stop waits for its worker's result (see `fire`)."""

    repo: Path
    moment: float
    latency: float
    rng: random.Random
    calls: list[Call] = field(default_factory=list)

    def result_file(self, name: str) -> Path:
        return self.repo / ".worktrees" / FEATURE / "logs" / f"{name}.1.jsonl"

    def fire(self, call: Call) -> None:
        assert call.target is not None or call.kind == "status"
        if call.kind == "stop":
            # Once the worker has printed its result (the stream's last line; its first is
            # dispatch's own): a stop that lands earlier ends the run on purpose, and then
            # there is no result to record.
            deadline = time.monotonic() + 60
            while '"type": "result"' not in self.result_file(str(call.target)).read_text():
                assert time.monotonic() < deadline
                time.sleep(0.005)
        else:
            lead = self.latency * self.rng.uniform(0.6, 1.2)
            time.sleep(max(0.0, self.moment - lead - time.time()))
        call.fired_at = time.time() - self.moment
        if call.kind == "status":
            call.ran = run_dispatch(self.repo, "status", FEATURE, "--json")
        elif call.kind == "resume":
            call.ran = run_dispatch(self.repo, "resume", str(call.target), "--feature", FEATURE)
        else:
            call.ran = run_dispatch(self.repo, "stop", FEATURE, str(call.target))

    def run(self) -> None:
        threads = [threading.Thread(target=self.fire, args=(call,)) for call in self.calls]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(180)


def settle(repo: Path, feature: str, timeout: float = 120.0) -> dict[str, Any]:
    """Until the supervisor is gone and nothing runs or waits to; the records. (It never
    probes the supervisor's lock: a probe can make a starting supervisor give up.)"""
    paths = FeaturePaths(repo, feature)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data: dict[str, Any] = json.loads(paths.state_file.read_text())["workstreams"]
        if not supervisor_processes(repo, feature) and not any(
                r["status"] in ("running", "retrying", "pending") for r in data.values()):
            return data
        time.sleep(0.1)
    raise AssertionError(f"{feature} did not settle in {timeout}s")


def printed_results(repo: Path, feature: str, name: str) -> tuple[float, int, int]:
    """Cost, turns and number of the result objects the worker's runs printed."""
    cost, turns, count = 0.0, 0, 0
    for path in sorted((repo / ".worktrees" / feature / "logs").glob(f"{name}.*.jsonl")):
        text = path.read_text().strip()
        if '"type": "result"' in text:  # (the stream's first line is dispatch's: its prompt)
            data = json.loads(text.splitlines()[-1])
            cost += data["total_cost_usd"]
            turns += data["num_turns"]
            count += 1
    return round(cost, 6), turns, count


STORM_FAST = [MASTER_SEED]
STORM_SLOW = seeds("storm", 4)


def storm_trial(repo: Path, fake: FakeClaude, seed: int, folder: Path) -> None:
    rng = random.Random(seed)
    assert run_dispatch(repo, "start", "specs/eight.md", "--no-agents").code == 0
    paths = FeaturePaths(repo, FEATURE)
    moment_file = folder / "moment"
    fake.script({"*": [{"until": str(moment_file)}]})  # the moment is set once all run
    reader = TornReader(paths.state_file)
    reader.start()
    launched = run_dispatch(repo, "start", FEATURE, "--max-parallel", "8")
    probe = run_dispatch(repo, "status", FEATURE, "--json")  # how long a command takes now
    moment = time.time() + max(1.5, 1.5 * probe.seconds)
    temporary = moment_file.with_suffix(".tmp")
    temporary.write_text(f"{moment}\n")
    temporary.replace(moment_file)
    evidence = Evidence(f"storm trial seed={seed}: 8 workers finish at one moment; a command "
                        f"took {probe.seconds:.2f}s before the storm")
    evidence.add("start", launched)
    storm = Storm(repo, moment, probe.seconds, rng)
    shuffled = list(EIGHT)
    rng.shuffle(shuffled)
    storm.calls = ([Call("status", None) for _ in range(4)] +
                   [Call("resume", name) for name in shuffled[:3]] +
                   [Call("stop", name) for name in shuffled[3:6]])
    with evidence.printed_on_failure():
        assert launched.code == 0 and probe.code == 0, evidence
        assert len(fake.calls()) == 8, f"not all eight workers started\n{evidence}"
        storm.run()
        found = settle(repo, FEATURE)
        reader.stop()
        for call in storm.calls:
            evidence.add("call", call)
        evidence.add("sessions", session_evidence(repo, FEATURE, fake.calls()))
        evidence.add("reader", f"{reader.reads} reads, {reader.missing} missing, torn: "
                               f"{reader.torn[:3]}")
        check_storm(repo, storm, found, fake, reader, evidence)


def check_storm(repo: Path, storm: Storm, found: dict[str, Any], fake: FakeClaude,
                reader: TornReader, evidence: Evidence) -> None:
    # What must hold whatever the interleaving, first; what a known bug breaks, last.
    assert reader.torn == [] and reader.missing == 0 and reader.reads > 100, evidence
    StateStore(FeaturePaths(repo, FEATURE)).load()  # the final file parses and validates
    assert sorted(found) == sorted(EIGHT), evidence
    for name, record in found.items():
        assert record["finished_at"] and record["total_cost_usd"] > 0 and \
            record["num_turns"] > 0, f"{name}'s result is not recorded\n{evidence}"
        cost, turns, count = printed_results(repo, FEATURE, name)
        assert (record["total_cost_usd"], record["num_turns"]) == (cost, turns), \
            f"{name}: recorded ${record['total_cost_usd']}, {record['num_turns']} turns but " \
            f"its {count} run(s) printed ${cost}, {turns} turns\n{evidence}"
    fresh = Counter(c["session_id"] for c in fake.calls() if not c["resume"])
    assert len(fresh) == 8 and set(fresh.values()) == {1}, \
        f"sessions started: {fresh}\n{evidence}"
    for call in storm.calls:
        ran = call.ran
        assert ran is not None, evidence
        if call.kind == "status":
            assert ran.code == 0 and len(json.loads(ran.output)["workstreams"]) == 8, evidence
        elif call.kind == "stop":
            assert ran.code == 0 and ran.output.strip() in (
                f"stopped {call.target}", "nothing was running"), evidence
    statuses = {name: record["status"] for name, record in found.items()}
    discarded = sorted(name for name, status in statuses.items()
                       if status == "stopped" and printed_results(repo, FEATURE, name)[2])
    assert set(statuses.values()) == {"done"}, \
        f"statuses {statuses}; stopped after printing a success: {discarded}\n{evidence}"
    for call in storm.calls:
        ran = call.ran
        assert ran is not None
        if call.kind == "resume":
            assert (ran.code == 0 and ran.output.startswith(f"resuming {call.target};")) or (
                ran.code == 1 and f"{call.target} is running" in ran.output), evidence


@pytest.mark.parametrize("seed", STORM_FAST, ids=lambda s: f"seed{s}")
def test_eight_workers_finish_together_under_a_storm_of_commands(
        eight_repo: Path, fake_claude: FakeClaude, seed: int, tmp_path: Path) -> None:
    storm_trial(eight_repo, fake_claude, seed, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("seed", STORM_SLOW, ids=lambda s: f"seed{s}")
def test_eight_workers_finish_together_under_a_storm_of_commands_slow(
        eight_repo: Path, fake_claude: FakeClaude, seed: int, tmp_path: Path) -> None:
    storm_trial(eight_repo, fake_claude, seed, tmp_path)


# --- (b) two starts at one moment ---------------------------------------------------------

# Imports the CLI, waits for the shared moment, then runs it: both processes reach
# `dispatch start` within a millisecond or so of each other (plus the trial's offset).
BARRIER = """\
import sys, time
from dispatch.cli import main
moment = float(sys.argv[1])
time.sleep(max(0.0, moment - time.time()))
sys.exit(main(sys.argv[2:]))
"""


def at_moment(repo: Path, moment: float, args: tuple[str, ...],
              log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-c", BARRIER, str(moment), *args], cwd=repo,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)


def ended(proc: subprocess.Popen[bytes], log: Path, args: tuple[str, ...],
          started: float) -> Ran:
    code = proc.wait(120)
    return Ran(dispatch_argv(*args), code, log.read_text(), time.monotonic() - started)


TWO_FAST = seeds("two-starts", 3)
TWO_SLOW = seeds("two-starts", 12, first=3)


def two_starts_trial(repo: Path, seed: int, logs: Path) -> None:
    """Both start within `offset` (0-100 ms, seeded) of each other; eight workstreams and a
    one-second setup keep the first busy for seconds, so they always overlap."""
    rng = random.Random(seed)
    offset = round(rng.uniform(0.0, 0.1), 4)
    before = user_view(repo, FEATURE)
    args = ("start", "specs/eight.md", "--no-agents", "--setup", "sleep 1")
    clock = time.monotonic()
    moment = time.time() + 1.5
    procs = [at_moment(repo, moment + delay, args, logs / f"start{index}.log")
             for index, delay in enumerate((0.0, offset))]
    results = [ended(proc, logs / f"start{index}.log", args, clock)
               for index, proc in enumerate(procs)]
    evidence = Evidence(f"two starts trial seed={seed}: the second {offset * 1000:.1f} ms "
                        "after the first")
    for index, ran in enumerate(results):
        evidence.add(f"start #{index + 1}", ran)
    again = run_dispatch(repo, *args)
    evidence.add("a third start afterwards", again)
    raw, entries = worktree_list(repo)
    evidence.add("git worktree list --porcelain", raw)
    evidence.add("sessions", session_evidence(repo, FEATURE, []))
    with evidence.printed_on_failure():
        check_two_starts(repo, results, again, entries, before, evidence)


def check_two_starts(repo: Path, results: list[Ran], again: Ran, entries: list[Any],
                     before: dict[str, str], evidence: Evidence) -> None:
    codes = sorted(-1 if r.code is None else r.code for r in results)
    assert codes == [0, 1], evidence
    assert again.code == 0, evidence
    data = json.loads((repo / ".worktrees" / FEATURE / "sessions.json").read_text())
    StateStore(FeaturePaths(repo, FEATURE)).load()
    found = data["workstreams"]
    assert sorted(found) == sorted(EIGHT), evidence
    for name, record in found.items():
        assert record["status"] == "pending" and record["setup"]["status"] == "ok", \
            f"{name}: {record['status']}, setup {record['setup']}\n{evidence}"
        worktree = repo / ".worktrees" / FEATURE / name
        assert (worktree / "README.md").is_file() and \
            (worktree / ".workstream" / "TASKS.md").is_file(), evidence
    paths = {str(Path(e.path).resolve()) for e in entries}
    assert paths == {str(repo.resolve())} | {
        str((repo / ".worktrees" / FEATURE / n).resolve()) for n in EIGHT}, evidence
    assert not [e for e in entries if set(e.flags) & {"locked", "prunable"}], evidence
    assert feature_branches(repo, FEATURE) == sorted(f"{FEATURE}/{n}" for n in EIGHT), evidence
    assert user_view(repo, FEATURE) == before, evidence
    assert not held_locks(repo, FEATURE), evidence
    loser = next(r for r in results if r.code == 1)
    assert f"feature '{FEATURE}' is busy" in loser.output, evidence


@pytest.mark.parametrize("seed", TWO_FAST, ids=lambda s: f"seed{s}")
def test_two_starts_at_the_same_moment(eight_repo: Path, seed: int, tmp_path: Path) -> None:
    two_starts_trial(eight_repo, seed, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("seed", TWO_SLOW, ids=lambda s: f"seed{s}")
def test_two_starts_at_the_same_moment_slow(eight_repo: Path, seed: int,
                                            tmp_path: Path) -> None:
    two_starts_trial(eight_repo, seed, tmp_path)


# --- deterministic reproductions of what the storm ran into --------------------------------

@pytest.mark.usefixtures("fake_claude")
def test_two_resumes_at_once_both_succeed(x_repo: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """`dispatch resume api` and `dispatch resume web` on a finished feature: each finds no
    supervisor and starts one; one of the two supervisors takes the lock, the other gives
    up. A hook holds both before their lock, and the test holds sessions.json's lock (a
    slow write) until the loser has gone and its command has looked again: the winner has
    launched nothing yet, and both commands must still succeed."""
    hook = supervisor_hook(tmp_path / "hook", monkeypatch)
    assert run_dispatch(x_repo, "start", "specs/x.md", "--wait").code == 0
    paths = FeaturePaths(x_repo, "x")
    hook.arm()
    clock = time.monotonic()
    procs = {name: spawn(x_repo, ("resume", name), tmp_path / f"{name}.log")
             for name in ("api", "web")}
    supervisors = hook.wait_started(2)
    assert sorted(supervisors.values()) == sorted(proc.pid for proc in procs.values())
    state_lock = FileLock(paths.lock("sessions"))
    assert state_lock.acquire(timeout=10)
    try:
        hook.release()
        tried = {pid: hook.wait_tried(pid) for pid in supervisors}
        assert sorted(tried.values()) == ["busy", "free"]
        loser = next(pid for pid, found in tried.items() if found == "busy")
        wait_dead(loser)  # it gave up: another supervisor runs the feature
        command = next(proc for proc in procs.values() if proc.pid == supervisors[loser])
        hook.wait_polls(command, hook.polls(command.pid) + 5)  # it saw, and still waits
    finally:
        state_lock.release()
    results = {name: finished(proc, tmp_path / f"{name}.log", clock)
               for name, proc in procs.items()}
    found = settle(x_repo, "x")
    evidence = Evidence("two `dispatch resume` at one moment")
    for name, ran in results.items():
        evidence.add(f"resume {name}", ran)
    evidence.add("sessions", session_evidence(x_repo, "x", []))
    with evidence.printed_on_failure():
        assert {n: found[n]["attempts"] for n in ("api", "web")} == {"api": 2, "web": 2}, \
            evidence
        assert all(r["status"] == "done" for r in found.values()), evidence
        assert [r.code for r in results.values()] == [0, 0], evidence


def test_a_stop_racing_a_finished_session_keeps_its_success(
        x_repo: Path, fake_claude: FakeClaude, tmp_path: Path) -> None:
    """api's session ends with success; before the supervisor gets to it (it is held with
    SIGSTOP, as a loaded machine or a long reap of other sessions would hold it),
    `dispatch stop x api` finds the record still `running`. The run ended by itself, with
    its work done: it must be recorded `done`, not `stopped`."""
    api, others = fake_claude.barrier("api"), fake_claude.barrier("others")
    fake_claude.script({"api": [api.step()], "*": [others.step()]})
    starter = spawn(x_repo, ("start", "specs/x.md"), tmp_path / "start.log")
    supervisor = wait_for_supervisor(x_repo, "x", starter)
    assert supervisor is not None and starter.wait(120) == 0
    paths = FeaturePaths(x_repo, "x")
    launched = state_json(x_repo, "x")["workstreams"]
    # `start` returns once every session it launched has its pid recorded
    assert {n: r["status"] for n, r in launched.items()} == {
        "api": "running", "web": "running", "cli": "running", "docs": "waiting"}
    assert all(launched[n]["pid"] is not None for n in ("api", "web", "cli")), launched
    api_pid = launched["api"]["pid"]
    _hold(supervisor, paths)
    try:
        _let_api_finish(x_repo, api, api_pid)
        stopped = run_dispatch(x_repo, "stop", "x", "api")
    finally:
        os.kill(supervisor, signal.SIGCONT)
    others.release()
    found = settle(x_repo, "x")
    evidence = Evidence("`dispatch stop x api` after api printed its success")
    evidence.add("stop", stopped)
    evidence.add("api's result", (x_repo / ".worktrees/x/logs/api.1.jsonl").read_text())
    evidence.add("sessions", session_evidence(x_repo, "x", fake_claude.calls()))
    with evidence.printed_on_failure():
        assert (stopped.code, stopped.output) == (0, "nothing was running\n"), evidence
        assert found["api"]["total_cost_usd"] == 0.01, evidence
        assert found["api"]["status"] == "done", evidence


def test_a_stop_that_marks_a_session_just_before_it_succeeds(
        x_repo: Path, fake_claude: FakeClaude, tmp_path: Path) -> None:
    """`dispatch stop x api` marks api `stopped` (its process still runs), and before the
    stop signals it, api ends with success by itself. The state is arranged as that race
    leaves it: the supervisor is held (SIGSTOP) while api ends, then api's record is marked
    `stopped` by the same update `dispatch stop` makes. The supervisor must record the run
    (its work is done: `done`, as in the test above) and go on to run docs."""
    from dispatch.state.store import StateStore

    api = fake_claude.barrier("api")
    fake_claude.script({"api": [api.step()]})
    starter = spawn(x_repo, ("start", "specs/x.md"), tmp_path / "start.log")
    supervisor = wait_for_supervisor(x_repo, "x", starter)
    assert supervisor is not None and starter.wait(120) == 0
    paths = FeaturePaths(x_repo, "x")
    wait_for(lambda: {n: r["status"] for n, r in state_json(x_repo, "x")["workstreams"].items()}
             == {"api": "running", "web": "done", "cli": "done", "docs": "waiting"},
             "web and cli did not end")
    api_pid = state_json(x_repo, "x")["workstreams"]["api"]["pid"]
    _hold(supervisor, paths)
    try:
        _let_api_finish(x_repo, api, api_pid)
        StateStore(paths).set("api", status="stopped", error="stopped by 'dispatch stop'")
    finally:
        os.kill(supervisor, signal.SIGCONT)
    found = settle(x_repo, "x")
    log = (paths.logs / "supervisor.log").read_text()
    assert {n: r["status"] for n, r in found.items()} == dict.fromkeys(
        ("api", "web", "cli", "docs"), "done"), log
    assert "Traceback" not in log, log


def _let_api_finish(x_repo: Path, api: Barrier, api_pid: int) -> None:
    """Release api's session and wait until it has printed its result and ended."""
    api.release()
    result_file = x_repo / ".worktrees" / "x" / "logs" / "api.1.jsonl"
    wait_for(lambda: not _alive(api_pid) and '"type": "result"' in result_file.read_text(),
             "api's session did not end")


def _hold(supervisor: int, paths: FeaturePaths) -> None:
    """SIGSTOP the supervisor at a moment it does not hold sessions.json's lock."""
    for _ in range(200):
        os.kill(supervisor, signal.SIGSTOP)
        if not is_held(paths.lock("sessions")):
            return
        os.kill(supervisor, signal.SIGCONT)
        time.sleep(0.01)
    raise AssertionError("the supervisor always held sessions.json's lock")


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
