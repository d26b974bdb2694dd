"""The autopilot's two economies: verify runs saved by batching, API push-back avoided by
easing off.

    python benchmarks/bench_autopilot.py [--branches 16] [--verify-seconds 2] [--sessions 8]

1. Batching. 16 ready workstreams, a verify command that takes 2 s and fails when any file
   says BROKEN, one branch that says it. `integrate --no-batch` (the one-at-a-time queue)
   against `integrate --batch`, in the same run: verify runs and wall time. Targets: at most
   2*ceil(log2 16)+2 = 10 verify runs for the merges (the queue needs 16) and at most 0.5x
   its wall time; with no bad branch, 1-2 runs. (Each integrate also verifies the base once
   before any merge: counted apart.)
2. Easing off. A stand-in API that answers 529 (overloaded) to a session that finds 2 others
   running; 8 workstreams with --max-parallel 8, adaptive (the default) against
   --fixed-parallel: the 529s each run met, and the limit `status --json` showed meanwhile.
   Target: fewer 529s adaptive than fixed.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import common

sys.path.insert(0, str(common.ROOT))
from tests.support.fakes import FakeClaude  # the stand-in claude of the tests

VERIFY = """#!/bin/sh
# counts itself, takes its time, fails on a BROKEN file
echo run >> "{log}"
sleep {seconds}
! grep -rqs BROKEN --include='*.txt' work
"""


def batching_repo(work: Path, env: dict[str, str], branches: int, bad: int | None,
                  seconds: float) -> tuple[Path, Path]:
    repo = common.make_repo(work / "repo", env, 20)
    log = work / "verify-runs.log"
    (repo / "verify.sh").write_text(VERIFY.format(log=log, seconds=seconds))
    common.git(["add", "-A"], repo, env)
    common.git(["commit", "-q", "-m", "a verify script"], repo, env)
    spec = work / "spec.md"
    spec.write_text(common.spec_text(branches))
    common.ready_workstreams(repo, env, spec, branches, lambda i: {
        f"work/part{i}.txt": "BROKEN\n" if i == bad else f"part {i}\n"})
    return repo, log


def integrate(repo: Path, log: Path, env: dict[str, str], mode: str) -> tuple[int, float]:
    """(verify runs, seconds) of one integrate from scratch."""
    common.clean(repo / ".worktrees" / "bench" / "integration")
    common.git(["worktree", "prune"], repo, env)
    subprocess.run(["git", "branch", "-D", "bench/integration"], cwd=repo, env=env,
                   capture_output=True)
    state_file = repo / ".worktrees" / "bench" / "sessions.json"
    state = json.loads(state_file.read_text())
    state["integration"] = None
    state_file.write_text(json.dumps(state))
    log.write_text("")
    started = time.perf_counter()
    subprocess.run(common.dispatch_cmd("integrate", "--verify", "sh verify.sh", mode),
                   cwd=repo, env=env, capture_output=True)
    seconds = time.perf_counter() - started
    return len(log.read_text().splitlines()), seconds


def batching(branches: int, seconds: float) -> None:
    target_runs = 2 * math.ceil(math.log2(branches)) + 2
    print(f"1. batching: {branches} ready workstreams, verify {seconds:g}s")
    for bad in (branches // 2 + 1, None):
        work = common.scratch()
        try:
            env = common.sealed_env(work)
            repo, log = batching_repo(work, env, branches, bad, seconds)
            queue_runs, queue_s = integrate(repo, log, env, "--no-batch")
            batch_runs, batch_s = integrate(repo, log, env, "--batch")
        finally:
            common.clean(work)
        label = f"one bad (part-{bad})" if bad else "none bad"
        # one run of each is the base's check before any merge
        print(f"   {label:<18} queue: {queue_runs - 1:>2} verify runs + base, {queue_s:5.1f}s"
              f" | batch: {batch_runs - 1:>2} verify runs + base, {batch_s:5.1f}s"
              f" | wall ratio {batch_s / queue_s:.2f}x")
        if bad:
            met = batch_runs - 1 <= target_runs and batch_s <= 0.5 * queue_s
            print(f"   target: batch <= {target_runs} runs, ratio <= 0.5x: "
                  f"{'met' if met else 'NOT met'}")
        else:
            print(f"   target: batch 1-2 runs: {'met' if batch_runs - 1 <= 2 else 'NOT met'}")


def easing_off(sessions: int, capacity: int) -> None:
    print(f"2. easing off: {sessions} sessions, --max-parallel {sessions}, an API that "
          f"answers 529 above {capacity} at once")
    found = {}
    for mode in ("adaptive", "fixed"):
        work = common.scratch()
        try:
            env = common.sealed_env(work)
            repo = common.make_repo(work / "repo", env, 5)
            spec = work / "spec.md"
            spec.write_text(common.spec_text(sessions))
            fake = FakeClaude(work / "fake")
            fake.script({"*": [{"sleep": 1.5}] * 30})
            env = {**env, "FAKE_CLAUDE_STATE": str(fake.state),
                   "CLAUDE_CLI_PATH": str(fake.path),
                   "FAKE_CLAUDE_API_CAPACITY": str(capacity)}
            extra = ["--fixed-parallel"] if mode == "fixed" else []
            started = time.perf_counter()
            subprocess.run(common.dispatch_cmd(
                "start", str(spec), "--no-setup", "--max-parallel", str(sessions),
                "--retry-delay", "0.2", "--retries", "10", *extra),
                cwd=repo, env=env, check=True, capture_output=True)
            limits = watch_limits(repo, env)
            seconds = time.perf_counter() - started
            overloaded = fake.state / "overloaded.jsonl"
            count = len(overloaded.read_text().splitlines()) if overloaded.exists() else 0
            state = json.loads((repo / ".worktrees/bench/sessions.json").read_text())
            done = sum(r["status"] == "done" for r in state["workstreams"].values())
        finally:
            common.clean(work)
        found[mode] = count
        shown = ", ".join(str(x) for x in sorted(limits)) or "none"
        print(f"   {mode:<9} 529s met: {count:>3} · done {done}/{sessions} · "
              f"{seconds:5.1f}s · limits status showed: {shown}")
    print(f"   target: fewer 529s adaptive than fixed: "
          f"{'met' if found['adaptive'] < found['fixed'] else 'NOT met'} "
          f"({found['adaptive']} vs {found['fixed']})")


def watch_limits(repo: Path, env: dict[str, str]) -> set[int]:
    """Poll `status --json` until every session ended; the limits it showed."""
    seen: set[int] = set()
    while True:
        out = subprocess.run(common.dispatch_cmd("status", "--json"), cwd=repo, env=env,
                             capture_output=True, text=True).stdout
        status = json.loads(out)
        if status["concurrency"]["limit"] is not None:
            seen.add(status["concurrency"]["limit"])
        if not status["supervisor"]["alive"]:
            return seen
        time.sleep(0.3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--branches", type=int, default=16)
    parser.add_argument("--verify-seconds", type=float, default=2.0)
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--capacity", type=int, default=2)
    parser.add_argument("--only", choices=("batching", "easing"))
    args = parser.parse_args()
    if args.only != "easing":
        batching(args.branches, args.verify_seconds)
    if args.only != "batching":
        easing_off(args.sessions, args.capacity)


if __name__ == "__main__":
    main()
