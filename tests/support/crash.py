"""Crash injection: run a real `python -m dispatch ...`, SIGKILL it after a seeded random
delay, run the same command again to completion, and check that everything converged.

Every trial draws its choices (the delay, whether the whole process group dies, …) from
`random.Random(seed)` with the seed in the test id, so a failure reproduces with `-k <id>`
(timing still varies from machine to machine: the seed fixes the moment, not the
interleaving). The fake `claude` (tests/support/fake_claude.py) is the only thing faked; its
environment comes from the `fake_claude` fixture through `os.environ`.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest

from dispatch.state.locks import holder_if_locked
from dispatch.state.paths import FeaturePaths
from dispatch.state.store import StateStore
from tests.support.gitrepo import commit, git, make_repo, snapshot, write
from tests.support.waiting import wait_for

MASTER_SEED = 20261122
FAST_TRIALS = 3  # quick sanity cases, always run
SLOW_TRIALS = 30  # @pytest.mark.slow: the real trials

# Wall-clock times of an uninterrupted run, measured on the 2-core box with `-n 4` (four
# trials at once): start --wait 3.3-4.1 s, the supervisor's life 1.4-1.9 s, integrate
# 0.6-1.0 s. Kill delays are drawn from [0, these]; on a busier machine the same delay lands
# earlier in the run, which the trials cover as well.
START_WAIT_SECONDS = 3.5  # `dispatch start specs/x.md --wait`, four sessions of ~0.3 s
SUPERVISOR_SECONDS = 1.8  # the supervisor's life, from the moment it holds its lock
INTEGRATE_SECONDS = 0.9  # `dispatch integrate` of four done workstreams

FEATURE = "x"
NAMES = ("api", "web", "cli", "docs")  # docs depends on api
SPEC_X = """\
# X
## Workstreams
### Workstream 1: Api
**Files**: `api/**`
- [ ] endpoint
### Workstream 2: Web
**Files**: `web/**`
- [ ] page
### Workstream 3: Cli
**Files**: `cli/**`
- [ ] command
### Workstream 4: Docs (After workstream 1)
**Files**: `docs/**`
- [ ] guide
"""
SESSION_SCRIPT: dict[str, list[dict[str, object]]] = {"*": [{"sleep": 0.3}] * 8}

USER_UNTRACKED = "notes/my-draft.txt"
USER_UNTRACKED_TEXT = "my uncommitted draft, never to be lost\n"
USER_MODIFIED = "src/d1/f1.txt"


def seeds(command: str, count: int, first: int = 0) -> list[int]:
    """Trial seeds for one command: distinct per command, stable across runs."""
    salt = sum(ord(c) for c in command) * 1000
    return [MASTER_SEED + salt + index for index in range(first, first + count)]


def fast_and_slow(command: str) -> tuple[list[int], list[int]]:
    return seeds(command, FAST_TRIALS), seeds(command, SLOW_TRIALS, first=FAST_TRIALS)


@dataclass(frozen=True)
class KillPlan:
    seed: int
    delay: float
    group: bool  # SIGKILL the whole process group instead of just the process

    def __str__(self) -> str:
        return (f"seed={self.seed} delay={self.delay:.3f}s kill="
                f"{'process group' if self.group else 'process'}")


def kill_plan(rng: random.Random, seed: int, longest: float, group_share: float) -> KillPlan:
    return KillPlan(seed, round(rng.uniform(0.0, longest), 3), rng.random() < group_share)


# --- repositories -------------------------------------------------------------------------

def build_repo(path: Path, spec_name: str = "x.md", spec: str = SPEC_X,
               files: int = 200) -> Path:
    """~`files` tracked files and a spec, then the user's own commit, an untracked file and
    a modified tracked file (dispatch must leave all of them alone)."""
    tree = {f"src/d{i % 10}/f{i}.txt": f"file {i}\n" for i in range(files)}
    make_repo(path, {"README.md": "# project\n", **tree, f"specs/{spec_name}": spec})
    commit(path, {"src/user.txt": "the user's own commit\n"}, "user: own work")
    write(path, {USER_UNTRACKED: USER_UNTRACKED_TEXT})
    (path / USER_MODIFIED).write_text("file 1, edited by the user\n")
    return path


def user_view(repo: Path, feature: str) -> dict[str, str]:
    view = snapshot(repo, feature)
    view["untracked file"] = (repo / USER_UNTRACKED).read_text()
    view["modified file"] = (repo / USER_MODIFIED).read_text()
    return view


@dataclass(frozen=True)
class Freezer:
    """A smudge filter (git-lfs installs one like it) that holds every checkout of the
    filtered files while `flag` exists, so a kill can land inside a git checkout or merge on
    purpose; `thaw` lets the held ones (and any orphaned by a kill) finish."""

    flag: Path
    entered: Path

    def held(self) -> int:
        return len(list(self.entered.glob("*")))

    def wait_entered(self, proc: subprocess.Popen[bytes] | None = None, count: int = 1,
                     timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while self.held() < count:
            assert proc is None or proc.poll() is None, \
                "the command ended before a checkout reached the filter"
            assert time.monotonic() < deadline, "no checkout reached the smudge filter"
            time.sleep(0.005)

    def freeze(self) -> None:
        self.flag.touch()

    def thaw(self) -> None:
        self.flag.unlink(missing_ok=True)


def freeze_checkouts(repo: Path, folder: Path, pattern: str = "frozen.dat") -> Freezer:
    """Commit a .gitattributes sending `pattern` through the filter (and, for the default
    pattern, that file itself); only this commit, never the user's other changes."""
    folder.mkdir(parents=True, exist_ok=True)
    freezer = Freezer(folder / "frozen", folder / "entered")
    script = folder / "smudge.sh"
    freezer.entered.mkdir()
    script.write_text(f'#!/bin/sh\nif [ -e "{freezer.flag}" ]; then : > "{freezer.entered}/$$"\n'
                      f'  while [ -e "{freezer.flag}" ]; do sleep 0.05; done\nfi\nexec cat\n')
    script.chmod(0o755)
    git(repo, "config", "filter.freeze.smudge", str(script))
    git(repo, "config", "filter.freeze.clean", "cat")
    files = {".gitattributes": f"{pattern} filter=freeze\n"}
    if pattern == "frozen.dat":
        files["frozen.dat"] = "data\n"
    write(repo, files)
    git(repo, "add", "--", *files)
    git(repo, "commit", "-q", "-m", "user: a filtered file")
    return freezer


SITECUSTOMIZE = """\
# Test hook written by tests/support/crash.py (`supervisor_hook`): it observes dispatch
# processes and holds supervisors at a barrier; it changes nothing they decide.
import os, sys, time
_dir = os.environ.get("DISPATCH_TEST_HOOK", "")
_argv = getattr(sys, "orig_argv", [])


def _say(name, text):
    path = os.path.join(_dir, name)
    with open(path + ".tmp", "w") as out:
        out.write(text)
    os.replace(path + ".tmp", path)


def _hold_supervisor():
    # Announce (supervisor.<pid>, holding the parent's pid), wait for the go file, and say
    # whether the supervisor lock was free at its first attempt (supervisor.<pid>.tried).
    from dispatch.state.locks import FileLock
    import dispatch.sessions.launch, dispatch.sessions.run, dispatch.sessions.scheduler

    original = FileLock.acquire

    def acquire(self, timeout=None):
        if self.path.name != ".supervisor.lock":
            return original(self, timeout)
        got = original(self, 0)
        _say(f"supervisor.{os.getpid()}.tried", "free" if got else "busy")
        return got or (timeout != 0 and original(self, timeout))

    FileLock.acquire = acquire
    _say(f"supervisor.{os.getpid()}", str(os.getppid()))
    while not os.path.exists(os.path.join(_dir, "go")):
        time.sleep(0.005)


def _count_polls():
    # Every look a waiting command takes at its supervisor adds a line to polls.<pid>.
    from dispatch.sessions.client import Supervision

    original = Supervision.keep_going

    def keep_going(self, state):
        going = original(self, state)
        with open(os.path.join(_dir, f"polls.{os.getpid()}"), "a") as out:
            out.write(f"{going}\\n")
        return going

    Supervision.keep_going = keep_going


if _dir and "dispatch.sessions.supervisor" in _argv:
    if os.path.exists(os.path.join(_dir, "armed")):
        _hold_supervisor()
elif _dir and (_argv[1:3] == ["-m", "dispatch"] or
               (_argv[1:2] == ["-c"] and "dispatch.cli" in _argv[2])):
    _count_polls()
"""


@dataclass(frozen=True)
class SupervisorHook:
    """Barriers for supervisors and the commands that wait on them (see SITECUSTOMIZE).

    Once `arm()`ed, every supervisor that starts imports what it needs, announces itself and
    waits until `release()`; then says whether its supervisor lock was free when it first
    tried it. Commands (`python -m dispatch ...`) count each look at their supervisor."""

    folder: Path

    def arm(self) -> None:
        (self.folder / "armed").touch()

    def release(self) -> None:
        (self.folder / "go").touch()

    def started(self) -> dict[int, int]:
        """pid -> parent pid (the command that started it) of every held supervisor."""
        return {int(p.name.split(".")[1]): int(p.read_text()) for p in
                self.folder.glob("supervisor.*") if p.name.count(".") == 1}

    def wait_started(self, count: int, timeout: float = 60.0) -> dict[int, int]:
        wait_for(lambda: len(self.started()) >= count, f"{count} supervisor(s) did not start",
                 timeout)
        return self.started()

    def wait_tried(self, pid: int, timeout: float = 60.0) -> str:
        """The supervisor lock at supervisor `pid`'s first attempt: "free" or "busy"."""
        tried = self.folder / f"supervisor.{pid}.tried"
        wait_for(tried.exists, f"supervisor {pid} did not try its lock", timeout)
        return tried.read_text()

    def polls(self, pid: int) -> int:
        """How many times the command `pid` has looked at its supervisor while waiting."""
        log = self.folder / f"polls.{pid}"
        return len(log.read_text().splitlines()) if log.exists() else 0

    def wait_polls(self, command: subprocess.Popen[bytes], count: int,
                   timeout: float = 60.0) -> None:
        """Until `command` has looked `count` times, all the while still waiting."""
        def looked() -> bool:
            assert command.poll() is None, \
                f"the command stopped waiting after {self.polls(command.pid)} looks"
            return self.polls(command.pid) >= count

        wait_for(looked, f"the command did not look {count} times", timeout)


def supervisor_hook(folder: Path, monkeypatch: pytest.MonkeyPatch) -> SupervisorHook:
    """Install the hook for every Python process this test starts; supervisors are held
    only once it is `arm()`ed."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (str(folder), os.environ.get("PYTHONPATH", "")) if p))
    monkeypatch.setenv("DISPATCH_TEST_HOOK", str(folder))
    return SupervisorHook(folder)


def wait_quiet(folder: Path, timeout: float = 60.0) -> None:
    """Until no process works inside `folder` (e.g. git orphaned by a kill)."""
    root = str(folder.resolve())
    deadline = time.monotonic() + timeout
    while True:
        busy = [p.pid for p in psutil.process_iter(["cwd", "status"])
                if p.info.get("status") != psutil.STATUS_ZOMBIE and
                ((p.info.get("cwd") or "") + os.sep).startswith(root + os.sep)]
        if not busy:
            return
        assert time.monotonic() < deadline, f"processes {busy} still work in {folder}"
        time.sleep(0.02)


# --- running dispatch ---------------------------------------------------------------------

def dispatch_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "dispatch", *args]


def _env() -> dict[str, str]:
    env = dict(os.environ)  # holds the sealed git setup and the fake claude's variables
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


@dataclass
class Ran:
    argv: list[str]
    code: int | None
    output: str
    seconds: float
    killed: bool = False

    def __str__(self) -> str:
        what = "killed" if self.killed else f"exit {self.code}"
        return (f"$ {' '.join(self.argv[2:])}  -> {what} after {self.seconds:.2f}s\n"
                f"{_tail(self.output, 3000)}")


def run_dispatch(repo: Path, *args: str, timeout: float = 90.0) -> Ran:
    """Run the command to completion; one that hangs past `timeout` is killed (with its
    process group) and reported as exit None, so the evidence still gets shown."""
    started = time.monotonic()
    argv = dispatch_argv(*args)
    proc = subprocess.Popen(argv, cwd=repo, env=_env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        kill(proc.pid, group=True)
        out, _ = proc.communicate()
        code = None
        out += f"\n[hung: killed after {timeout:.0f}s]".encode()
    return Ran(argv, code, out.decode(errors="replace"), time.monotonic() - started)


def spawn(repo: Path, args: tuple[str, ...], log: Path) -> subprocess.Popen[bytes]:
    """Start the command in its own session (so killpg reaches it and its children only),
    with its output in a file, not a pipe: children orphaned by a kill may keep it open."""
    with log.open("wb") as out:
        return subprocess.Popen(dispatch_argv(*args), cwd=repo, env=_env(),
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)


def finished(proc: subprocess.Popen[bytes], log: Path, started: float,
             timeout: float = 90.0) -> Ran:
    """Wait for a spawned command; one still running after `timeout` is killed with its
    process group and reported as hung (exit None)."""
    argv = [str(a) for a in proc.args] if isinstance(proc.args, list) else [str(proc.args)]
    try:
        code: int | None = proc.wait(timeout=timeout)
        hung = ""
    except subprocess.TimeoutExpired:
        kill(proc.pid, group=True)
        proc.wait()
        code, hung = None, f"\n[hung: killed after {timeout:.0f}s]"
    return Ran(argv, code, log.read_text(errors="replace") + hung, time.monotonic() - started)


def run_killed(repo: Path, args: tuple[str, ...], plan: KillPlan, log: Path) -> Ran:
    """Start the command, SIGKILL it (or its whole process group) after the plan's delay."""
    started = time.monotonic()
    proc = spawn(repo, args, log)
    try:
        proc.wait(timeout=plan.delay)
        killed = False
    except subprocess.TimeoutExpired:
        kill(proc.pid, group=plan.group)
        proc.wait()
        killed = True
    return Ran(dispatch_argv(*args), proc.returncode, log.read_text(errors="replace"),
               time.monotonic() - started, killed)


def kill(pid: int, *, group: bool) -> None:
    try:
        if group:
            os.killpg(pid, signal.SIGKILL)
        else:
            os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def wait_dead(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.01)
    raise AssertionError(f"pid {pid} still runs {timeout}s after SIGKILL")


def supervisor_of(repo: Path, feature: str) -> int | None:
    """The live supervisor's pid, read from its lock file without touching the lock.

    `control.supervisor_pid` probes by taking the lock for an instant, which would make a
    supervisor starting at that instant believe another one runs: never poll with it."""
    try:
        text = (repo / ".worktrees" / feature / ".supervisor.lock").read_text().strip()
    except OSError:
        return None
    if not text.isdigit():
        return None
    try:
        process = psutil.Process(int(text))
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        cmdline = process.cmdline()
    except psutil.Error:
        return None
    return process.pid if "dispatch.sessions.supervisor" in cmdline and feature in cmdline else None


def wait_for_supervisor(repo: Path, feature: str, starter: subprocess.Popen[bytes],
                        timeout: float = 60.0) -> int | None:
    """Poll (file reads only) until the feature's supervisor runs; None if `starter` ended
    first without one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = supervisor_of(repo, feature)
        if pid is not None:
            return pid
        if starter.poll() is not None:
            return supervisor_of(repo, feature)
        time.sleep(0.005)
    raise AssertionError(f"no supervisor for {feature} after {timeout}s")


def live_processes(repo: Path) -> list[str]:
    """`pid status command` of every process working inside the repository."""
    root = str(repo.resolve())
    found = []
    for process in psutil.process_iter(["pid", "cwd", "cmdline", "status"]):
        cwd = process.info.get("cwd") or ""
        if cwd == root or cwd.startswith(root + os.sep):
            cmdline = " ".join(process.info.get("cmdline") or [])
            found.append(f"{process.pid} {process.info.get('status')} {cmdline[:160]}")
    return found


def supervisor_processes(repo: Path, feature: str) -> list[int]:
    """Live `python -m dispatch.sessions.supervisor <repo> <feature>` processes, lock or no lock
    (one that is still importing has not taken it yet)."""
    root = str(repo.resolve())
    found = []
    for process in psutil.process_iter(["pid", "cmdline", "status"]):
        cmdline = process.info.get("cmdline") or []
        if process.info.get("status") != psutil.STATUS_ZOMBIE and \
                "dispatch.sessions.supervisor" in cmdline and cmdline[-2:] == [root, feature]:
            found.append(process.pid)
    return found


def wait_no_supervisor(repo: Path, feature: str, timeout: float = 15.0) -> float:
    """Until no supervisor process of the feature is left (or `timeout`); seconds waited."""
    started = time.monotonic()
    while supervisor_processes(repo, feature) and time.monotonic() - started < timeout:
        time.sleep(0.02)
    return time.monotonic() - started if time.monotonic() - started > 0.05 else 0.0


def stop_everything(repo: Path) -> None:
    """Teardown: SIGKILL what a trial started and left behind (supervisors, sessions) —
    every process whose working folder is inside the trial's repository."""
    root = str(repo.resolve())
    for process in psutil.process_iter(["pid", "cwd"]):
        cwd = process.info.get("cwd") or ""
        if (cwd == root or cwd.startswith(root + os.sep)) and process.pid != os.getpid():
            try:
                os.kill(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


# --- what a trial leaves behind -----------------------------------------------------------

def state_json(repo: Path, feature: str) -> dict[str, Any]:
    text = (repo / ".worktrees" / feature / "sessions.json").read_text()
    data: dict[str, Any] = json.loads(text)
    StateStore(FeaturePaths(repo, feature)).load()  # and it passes dispatch's own validation
    return data


@dataclass(frozen=True)
class WorktreeEntry:
    path: str
    branch: str | None
    flags: tuple[str, ...]


def worktree_list(repo: Path) -> tuple[str, list[WorktreeEntry]]:
    raw = git(repo, "worktree", "list", "--porcelain")
    entries: list[WorktreeEntry] = []
    for block in raw.split("\n\n"):
        lines = [line for line in block.splitlines() if line]
        if not lines:
            continue
        path = lines[0].removeprefix("worktree ")
        branch = next((line.removeprefix("branch ") for line in lines
                       if line.startswith("branch ")), None)
        flags = tuple(line.split(" ", 1)[0] for line in lines[1:]
                      if line.split(" ", 1)[0] in ("locked", "prunable", "detached", "bare"))
        entries.append(WorktreeEntry(path, branch, flags))
    return raw, entries


def feature_branches(repo: Path, feature: str) -> list[str]:
    out = git(repo, "for-each-ref", "--format=%(refname:short)", f"refs/heads/{feature}/")
    return sorted(out.splitlines())


def held_locks(repo: Path, feature: str) -> dict[str, int]:
    folder = repo / ".worktrees" / feature
    found = {}
    for lock in sorted(folder.glob(".*.lock")):
        pid = holder_if_locked(lock)
        if pid is not None:
            found[lock.name] = pid
    return found


@dataclass
class Evidence:
    """Everything a failed assertion should show."""

    label: str
    lines: list[str] = field(default_factory=list)

    def add(self, title: str, text: object) -> None:
        self.lines.append(f"--- {title}\n{text}")

    def __str__(self) -> str:
        return "\n".join([self.label, *self.lines])

    __repr__ = __str__  # pytest shows an assertion message's repr

    @contextmanager
    def printed_on_failure(self) -> Iterator[None]:
        """pytest truncates long assertion messages: the evidence goes to stdout, which it
        shows whole."""
        try:
            yield
        except BaseException:
            print(self)
            raise


def session_evidence(repo: Path, feature: str, calls: list[dict[str, Any]]) -> str:
    path = repo / ".worktrees" / feature / "sessions.json"
    parts = []
    try:
        data = json.loads(path.read_text())
        for name, record in data.get("workstreams", {}).items():
            parts.append(f"{name}: status={record.get('status')} attempts="
                         f"{record.get('attempts')} session={record.get('session_id')} "
                         f"pid={record.get('pid')} error={record.get('error')!r}")
    except (OSError, ValueError) as exc:
        parts.append(f"sessions.json unreadable: {exc!r}")
    for call in calls:
        parts.append(f"call {call['workstream']} session={call['session_id']} "
                     f"resume={call['resume']} t={call['time']:.3f}")
    parts.append("live processes: " + ("\n  ".join(["", *live_processes(repo)]) or "none"))
    folder = repo / ".worktrees" / feature
    for extra in [*sorted(folder.glob(".*.lock")), folder / "logs" / "supervisor.log"]:
        if extra.exists():
            text = extra.read_text().strip() if extra.suffix == ".lock" else \
                f"{extra.stat().st_size} bytes"
            age = time.time() - extra.stat().st_mtime
            parts.append(f"{extra.name}: {text!r}, modified {age:.2f}s ago")
    log = repo / ".worktrees" / feature / "logs" / "supervisor.log"
    if log.exists() and log.read_text().strip():
        parts.append("supervisor.log:\n" + _tail(log.read_text(), 2000))
    return "\n".join(parts)


def check_sessions_converged(repo: Path, feature: str, names: tuple[str, ...],
                             before: dict[str, str], rerun: Ran,
                             read_calls: Callable[[], list[dict[str, Any]]],
                             evidence: Evidence) -> None:
    """After an interrupted `start` and a complete rerun: the checks of task (a)/(b)."""
    evidence.add("sessions as the rerun left them", session_evidence(repo, feature,
                                                                     read_calls()))
    raw, _ = worktree_list(repo)
    evidence.add("git worktree list --porcelain", raw)
    assert rerun.code == 0, evidence
    # `start --wait` may return while a supervisor it spawned for nothing is still on its
    # way in and out: give it a moment before looking for stray processes and locks.
    lingered = wait_no_supervisor(repo, feature)
    if lingered:
        evidence.add("after the rerun", f"a supervisor ran {lingered:.2f}s more")
    calls = read_calls()
    evidence.add("sessions", session_evidence(repo, feature, calls))
    raw, entries = worktree_list(repo)

    data = state_json(repo, feature)  # parses, and validates
    found = data["workstreams"]
    assert sorted(found) == sorted(names), f"records {sorted(found)}\n{evidence}"
    statuses = {n: r["status"] for n, r in found.items()}
    assert statuses == dict.fromkeys(names, "done"), f"statuses {statuses}\n{evidence}"

    for name in names:
        path = str((repo / ".worktrees" / feature / name).resolve())
        branch = f"refs/heads/{feature}/{name}"
        at_path = [e for e in entries if Path(e.path).resolve() == Path(path)]
        on_branch = [e for e in entries if e.branch == branch]
        assert len(at_path) == 1 and at_path == on_branch, \
            f"{name}: worktrees at its path {at_path}, on its branch {on_branch}\n{evidence}"
    expected_paths = {str(repo.resolve())} | {
        str((repo / ".worktrees" / feature / n).resolve()) for n in names}
    extra = [e for e in entries if str(Path(e.path).resolve()) not in expected_paths]
    assert not extra, f"stray worktrees {extra}\n{evidence}"
    flagged = [e for e in entries if set(e.flags) & {"locked", "prunable"}]
    assert not flagged, f"locked or prunable worktrees {flagged}\n{evidence}"
    assert feature_branches(repo, feature) == sorted(f"{feature}/{n}" for n in names), \
        f"branches {feature_branches(repo, feature)}\n{evidence}"

    fresh = Counter(c["session_id"] for c in calls if not c["resume"])
    twice = {sid: n for sid, n in fresh.items() if n > 1}
    assert not twice, f"sessions started more than once: {twice}\n{evidence}"
    recorded = {r["session_id"] for r in found.values()}
    assert set(fresh) == recorded, (f"sessions started {sorted(fresh)} but recorded "
                                    f"{sorted(recorded)}\n{evidence}")
    for name, record in found.items():
        assert record["total_cost_usd"] > 0 and record["num_turns"] > 0 and \
            record["finished_at"], f"{name}'s result is not recorded: {record}\n{evidence}"
        assert git_ok(repo, "cat-file", "-e", f"{feature}/{name}:work/{name}.txt"), \
            f"{name}'s work is not on its branch\n{evidence}"
    assert git_ok(repo, "merge-base", "--is-ancestor", f"{feature}/api", f"{feature}/docs"), \
        f"docs does not hold api's work\n{evidence}"

    assert user_view(repo, feature) == before, f"the user's checkout changed\n{evidence}"
    assert not supervisor_processes(repo, feature), f"a supervisor still runs\n{evidence}"
    assert not held_locks(repo, feature), f"locks still held {held_locks(repo, feature)}\n" \
        f"{evidence}"


def git_text(repo: Path, *args: str) -> str:
    """git's output, or what went wrong (for evidence: never raises)."""
    try:
        proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                              check=False)
    except OSError as exc:
        return f"(git {' '.join(args)}: {exc})"
    return proc.stdout.strip() if proc.returncode == 0 else \
        f"(git {' '.join(args)} failed: {proc.stderr.strip()})"


def git_ok(repo: Path, *args: str) -> bool:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True,
                          check=False).returncode == 0


def _tail(text: str, size: int) -> str:
    return text if len(text) <= size else "…" + text[-size:]
