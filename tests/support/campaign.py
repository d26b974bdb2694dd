"""The misbehaving-worker campaign: seeded trials, the repository each runs in, and the
dispatch commands it runs (checks are in campaign_checks.py).

A trial is a 4-workstream feature (tests/support/crash.py's SPEC_X: docs after api) in which
one or two workstreams get a misbehaviour of tests/support/misbehaviours/, on their first
run only or on every run (`*` in the id). Everything about a trial follows from its seed:
`-k <seed>` runs it again.
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.crash import FEATURE, NAMES, SPEC_X, Evidence, Ran, run_dispatch
from tests.support.gitrepo import commit, make_repo, write
from tests.support.misbehaviours import CATALOGUE
from tests.support.paths import REPO_ROOT
from tests.support.reach import tips

MASTER_SEED = 20261700
RUNS = 60
SESSION_TIMEOUT = 4.0
START_ARGS = ("start", "specs/x.md", "--wait", "--no-setup", "--session-timeout",
              f"{SESSION_TIMEOUT:g}", "--retries", "1", "--retry-delay", "0.2",
              "--max-parallel", "4")
COMMAND_TIMEOUT = {"start": 90.0, "integrate": 60.0, "clean": 60.0}
USER_FILES = {"README.md": "# project\n", "src/app.py": "print('hi')\n",
              "src/lib/util.py": "X = 1\n", "specs/x.md": SPEC_X}
USER_UNTRACKED = {"notes/my-draft.txt": "my uncommitted draft\n"}
USER_MODIFIED = {"src/app.py": "print('hi, edited by me')\n"}
PLANTED = {"secret.txt": "the person's secret: 7f3c-do-not-copy\n",
           "keep.txt": "a file outside the repository\n"}


def misbehaviour_names() -> list[str]:
    return sorted(name for name in CATALOGUE if name != "good")


@dataclass(frozen=True)
class Trial:
    seed: int
    workers: dict[str, tuple[str, bool]]  # workstream -> (misbehaviour, on every run)

    @property
    def id(self) -> str:
        bad = "+".join(f"{ws}={name}{'*' if every else ''}"
                       for ws, (name, every) in sorted(self.workers.items()))
        return f"seed{self.seed}-{bad}"


def trial(seed: int) -> Trial:
    """Seed n's trial: misbehaviour n (mod the catalogue) always, so that 60 runs cover
    them all, and half the time a second one, on seeded workstreams."""
    names = misbehaviour_names()
    rng = random.Random(seed)
    index = seed - MASTER_SEED
    chosen = [names[index % len(names)]]
    if RUNS + index < len(names):  # more misbehaviours than runs: the rest go second
        chosen.append(names[RUNS + index])
    elif rng.random() < 0.5:
        chosen.append(rng.choice(names))
    workers = rng.sample(NAMES, len(chosen))
    return Trial(seed, {ws: (name, rng.random() < 0.3)
                        for ws, name in zip(workers, chosen, strict=True)})


def trials(count: int = RUNS) -> list[Trial]:
    return [trial(MASTER_SEED + index) for index in range(count)]


@dataclass
class Scene:
    """One trial's repository, the files around it, and what was seen at each step."""

    trial: Trial
    root: Path
    repo: Path
    outside: Path
    state: Path
    evidence: Evidence
    recorded: dict[str, str] = field(default_factory=dict)  # "step: ref" -> commit
    runs: list[Ran] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # per command, summed

    @property
    def feature_dir(self) -> Path:
        return self.repo / ".worktrees" / FEATURE

    def record(self, step: str) -> None:
        found = tips(self.repo)
        self.recorded.update({f"{step}: {label}": sha for label, sha in found.items()})
        self.evidence.add(f"refs after {step}", "\n".join(
            f"{sha[:10]} {label}" for label, sha in sorted(found.items())))

    def dispatch(self, step: str, *args: str) -> Ran:
        ran = run_dispatch(self.repo, *args, timeout=COMMAND_TIMEOUT.get(step, 60.0))
        self.runs.append(ran)
        self.evidence.add(f"{step}", ran)
        self.seconds[step] = round(self.seconds.get(step, 0.0) + ran.seconds, 2)
        return ran

    def status(self, *args: str) -> Ran:
        """`dispatch status ARGS` in this process (its lean path: no need to pay for another
        Python's start-up four times a trial), from the repository's top level."""
        from dispatch.cli import main

        out, err = io.StringIO(), io.StringIO()
        started = time.monotonic()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["status", *args])
        ran = Ran(["python", "-m", "dispatch", "status", *args], code,
                  out.getvalue() + err.getvalue(), time.monotonic() - started)
        self.evidence.add("status", ran)
        self.seconds["status"] = round(self.seconds.get("status", 0.0) + ran.seconds, 2)
        return ran

    def exits(self) -> list[dict[str, Any]]:
        log = self.state / "exits.jsonl"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() \
            else []

    def wait_for_exit(self, ws: str, timeout: float = 60.0) -> None:
        """Until a run of `ws` has written its exit record (a hanging one writes it before
        it hangs): a barrier, not a sleep."""
        deadline = time.monotonic() + timeout
        while not any(line["ws"] == ws for line in self.exits()):
            assert time.monotonic() < deadline, f"no run of {ws} ended in {timeout:g}s"
            time.sleep(0.05)

    def late_commits(self) -> dict[str, str]:
        """Commits workers' background children made after their runs (late.jsonl)."""
        log = self.state / "late.jsonl"
        lines = [json.loads(line) for line in log.read_text().splitlines()] \
            if log.exists() else []
        return {f"{line['ws']}'s late commit": line["commit"] for line in lines}

    def lost_between_runs(self) -> list[str]:
        log = self.state / "lost.jsonl"
        return log.read_text().splitlines() if log.exists() else []


def set_up(tmp_path: Path, trial: Trial, monkeypatch: pytest.MonkeyPatch,
           **extra: object) -> Scene:
    """The trial's repository, files outside it and worker plan (`extra`: more settings for
    each misbehaving worker, e.g. a decoy pid)."""
    repo = make_repo(tmp_path / "repo", USER_FILES)
    commit(repo, {"src/user.txt": "the person's own commit\n"}, "user: own work")
    write(repo, {**USER_UNTRACKED, **USER_MODIFIED})
    outside = tmp_path / "outside"
    write(outside / "planted", PLANTED)
    state = tmp_path / "worker-state"
    state.mkdir()
    (state / "plan.json").write_text(json.dumps({"outside": str(outside), "workers": {
        ws: {"misbehaviour": name, "repeat": every, **extra}
        for ws, (name, every) in trial.workers.items()}}))
    wrapper = tmp_path / "bin" / "claude"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\nPYTHONPATH="{REPO_ROOT}" exec "{sys.executable}" '
                       '-m tests.support.misbehaving_worker "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.chdir(repo)
    crash_logs = tmp_path / "tmp"  # where dispatch saves the traceback of a crash
    crash_logs.mkdir()
    for key, value in {"CLAUDE_CLI_PATH": wrapper, "MISBEHAVE_STATE": state,
                       "FAKE_CLAUDE_STATE": state, "TMPDIR": crash_logs}.items():
        monkeypatch.setenv(key, str(value))
    return Scene(trial, tmp_path, repo, outside, state, Evidence(trial.id))
