"""Sessions: parallel supervision against the seed's one-after-another loop; status speed.

    python benchmarks/bench_sessions.py [--workers 8] [--sleep 3] [--runs 3]

1. `dispatch start SPEC --wait --no-setup` with 8 workstreams whose (fake) worker sleeps 3 s,
   against the floor "provisioning + one worker" measured in the same run. Target: <= 1.3x.
   The seed's loop (the 8 workers one after another) is printed for scale.
2. `dispatch status --json` on 32 workstreams against the floor "python start-up +
   `git worktree list` + `git status` in every worktree, 4 at a time". Target: <= 2x.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import common

FAKE = common.ROOT / "tests" / "support" / "fake_claude.py"


def fake_env(work: Path, env: dict[str, str], sleep: float) -> dict[str, str]:
    state = work / "fake-state"
    state.mkdir(exist_ok=True)
    (state / "script.json").write_text(json.dumps({"*": [{"sleep": sleep}]}))
    program = work / "claude"
    program.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE}" "$@"\n')
    program.chmod(0o755)
    return {**env, "FAKE_CLAUDE_STATE": str(state), "CLAUDE_CLI_PATH": str(program)}


def reset(repo: Path, env: dict[str, str], work: Path) -> None:
    common.clean(repo / ".worktrees")
    common.git(["worktree", "prune"], repo, env)
    branches = common.git(["branch", "--format=%(refname:short)"], repo, env).split()
    doomed = [b for b in branches if b != "main"]
    if doomed:
        common.git(["branch", "-D", *doomed], repo, env)
    for counter in (work / "fake-state").glob("counter-*"):
        counter.unlink()
    common.clean(work / "fake-state" / "sessions")


def run(command: list[str], repo: Path, env: dict[str, str]) -> float:
    return common.timed(lambda: subprocess.run(command, cwd=repo, env=env, check=True,
                                               capture_output=True))


def parallel_sessions(repo: Path, env: dict[str, str], work: Path, spec: Path) -> float:
    reset(repo, env, work)
    return run(common.dispatch_cmd("start", str(spec), "--wait", "--no-setup", "--max-parallel",
                                   "8"), repo, env)


def floor(repo: Path, env: dict[str, str], work: Path, spec: Path) -> float:
    """Provisioning plus one worker, the best a parallel run could hope for."""
    reset(repo, env, work)
    provisioning = run(common.dispatch_cmd("start", str(spec), "--no-agents", "--no-setup"),
                       repo, env)
    worktree = next(p for p in (repo / ".worktrees" / "bench").iterdir() if (p / ".git").exists())
    one = run([env["CLAUDE_CLI_PATH"], "-p", "--output-format", "json", "--", "work"],
              worktree, {**env, "DISPATCH_WORKSTREAM": "floor"})
    return provisioning + one


def seed_loop(repo: Path, env: dict[str, str], work: Path, spec: Path) -> float:
    reset(repo, env, work)
    subprocess.run(common.dispatch_cmd("start", str(spec), "--no-agents", "--no-setup"),
                   cwd=repo, env=env, check=True, capture_output=True)
    worktrees = sorted(p for p in (repo / ".worktrees" / "bench").iterdir()
                       if (p / ".git").exists())
    return sum(run([env["CLAUDE_CLI_PATH"], "-p", "--output-format", "json", "--", "work"], wt,
                   {**env, "DISPATCH_WORKSTREAM": wt.name}) for wt in worktrees)


def status_floor(repo: Path, env: dict[str, str]) -> float:
    def job() -> None:
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        listing = common.git(["worktree", "list", "--porcelain"], repo, env)
        paths = [Path(line[9:]) for line in listing.splitlines()
                 if line.startswith("worktree ") and ".worktrees" in line]
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda p: common.git(["status", "--porcelain"], p, env), paths))

    return common.timed(job)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--sleep", type=float, default=3.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--files", type=int, default=500)
    args = parser.parse_args()
    work = common.scratch()
    try:
        env = fake_env(work, common.sealed_env(work), args.sleep)
        repo = common.make_repo(work / "repo", env, args.files)
        spec = work / "spec.md"
        spec.write_text(common.spec_text(args.workers))
        medians = common.interleaved(args.runs, {
            "floor": lambda: floor(repo, env, work, spec),
            "dispatch": lambda: parallel_sessions(repo, env, work, spec)})
        loop = seed_loop(repo, env, work, spec)
        print(f"{args.workers} workers sleeping {args.sleep:g}s: dispatch start --wait "
              f"{medians['dispatch']:.2f}s; floor (provisioning + one worker) "
              f"{medians['floor']:.2f}s; ratio {medians['dispatch'] / medians['floor']:.2f} "
              f"(target <= 1.3); the seed's loop {loop:.2f}s "
              f"({loop / medians['dispatch']:.1f}x slower)")
        reset(repo, env, work)
        spec32 = work / "spec32.md"
        spec32.write_text(common.spec_text(32))
        subprocess.run(common.dispatch_cmd("start", str(spec32), "--no-agents", "--no-setup"),
                       cwd=repo, env=env, check=True, capture_output=True)
        status = common.interleaved(args.runs * 3, {
            "floor": lambda: status_floor(repo, env),
            "status": lambda: run(common.dispatch_cmd("status", "--json"), repo, env)})
        print(f"status --json on 32 workstreams: {status['status']:.3f}s; floor "
              f"{status['floor']:.3f}s; ratio {status['status'] / status['floor']:.2f} "
              "(target <= 2)")
    finally:
        common.clean(work)


if __name__ == "__main__":
    os.environ.pop("CLAUDE_CLI_PATH", None)
    main()
