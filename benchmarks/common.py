"""Shared pieces of the benchmarks: a sealed git environment, sample repositories, timing.

Benchmarks compare ratios measured in the same run, with the runs of A and B interleaved, on
tmpfs when /dev/shm exists (disk write-back otherwise dominates): never absolute seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def sealed_env(home: Path) -> dict[str, str]:
    config = home / ".gitconfig"
    config.write_text("[user]\n\tname = Bench\n\temail = bench@example.com\n"
                      "[init]\n\tdefaultBranch = main\n[core]\n\thooksPath = /dev/null\n")
    # Bytecode is cached as for any user (a PYTHONDONTWRITEBYTECODE from the caller would
    # make every command compile dispatch again and measure that instead).
    inherited = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return {**inherited, "HOME": str(home), "GIT_CONFIG_GLOBAL": str(config),
            "GIT_CONFIG_NOSYSTEM": "1", "COLUMNS": "200"}


def scratch(where: str = "tmpfs") -> Path:
    """A scratch folder on tmpfs (/dev/shm), or on disk (`where="disk"`)."""
    base = "/dev/shm" if where == "tmpfs" and Path("/dev/shm").is_dir() else None
    return Path(tempfile.mkdtemp(prefix="dispatch-bench-", dir=base))


def settle() -> None:
    """Flush dirty pages so one run's write-back does not land on the next run's clock."""
    os.sync()
    time.sleep(0.5)


def git(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout


def make_repo(path: Path, env: dict[str, str], files: int) -> Path:
    path.mkdir(parents=True)
    git(["init", "-q"], path, env)
    for index in range(files):
        target = path / f"pkg{index % 40}" / f"module_{index}.py"
        target.parent.mkdir(exist_ok=True)
        target.write_text(f'"""Module {index}."""\n\nVALUE = {index}\n' + "# filler\n" * 20)
    git(["add", "-A"], path, env)
    git(["commit", "-q", "-m", "sample project"], path, env)
    return path


def spec_text(count: int) -> str:
    streams = "".join(f"### Workstream {i}: Part {i}\n**Goal**: part {i}\n- task {i}\n"
                      for i in range(1, count + 1))
    return f"---\nfeature: bench\n---\n# Bench\n## Workstreams\n{streams}"


def ready_workstreams(repo: Path, env: dict[str, str], spec: Path, count: int,
                      files: Callable[[int], dict[str, str]]) -> None:
    """Provision the spec's `count` workstreams (feature "bench"), commit `files(i)` on the
    i-th, and record every one as done, as if its session had finished."""
    subprocess.run(dispatch_cmd("start", str(spec), "--no-agents", "--no-setup"),
                   cwd=repo, env=env, check=True, capture_output=True)
    for index in range(1, count + 1):
        worktree = repo / ".worktrees" / "bench" / f"part-{index}"
        for name, text in files(index).items():
            (worktree / name).parent.mkdir(parents=True, exist_ok=True)
            (worktree / name).write_text(text)
        git(["add", "-A"], worktree, env)
        git(["commit", "-q", "-m", f"part {index}"], worktree, env)
    state_file = repo / ".worktrees" / "bench" / "sessions.json"
    state = json.loads(state_file.read_text())
    for record in state["workstreams"].values():
        record["status"] = "done"
    state_file.write_text(json.dumps(state))


def dispatch_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "dispatch", *args]


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def interleaved(runs: int, contenders: dict[str, Callable[[], float]]) -> dict[str, float]:
    """Median seconds of each contender, run A B A B ... so drift hits both alike."""
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(runs):
        for name, run in contenders.items():
            settle()
            samples[name].append(run())
    return {name: statistics.median(values) for name, values in samples.items()}


def clean(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
