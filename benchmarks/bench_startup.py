"""Start-up cost per command: a cold `dispatch <command>` against `python -c pass`.

    python benchmarks/bench_startup.py [--runs 7]

Each command runs in a small provisioned repository (4 workstreams, no sessions), so that it
does its real work, which is small: what is left is Python's start-up and the imports the
command needs. Runs are interleaved with the floor (A B A B ...) and the median is taken;
the ratio is against `python -c pass` measured in the same run, and the extra milliseconds
are printed beside it. The imports each command pulls in are listed by `python -X importtime
-m dispatch <command>`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from functools import partial
from pathlib import Path

import common

COMMANDS = [
    ["--version"],
    ["status"],
    ["status", "--json"],
    ["plan", "spec.md", "--json"],
    ["check"],
    ["logs", "part-1"],
    ["integrate", "--only", "part-1"],
    ["start", "--help"],
]


def prepare(work: Path, env: dict[str, str]) -> Path:
    repo = common.make_repo(work / "repo", env, 50)
    (repo / "spec.md").write_text(common.spec_text(4))
    common.git(["add", "-A"], repo, env)
    common.git(["commit", "-q", "-m", "spec"], repo, env)
    subprocess.run(common.dispatch_cmd("start", "spec.md", "--no-agents", "--no-setup"),
                   cwd=repo, env=env, check=True, capture_output=True)
    worktree = repo / ".worktrees" / "bench" / "part-1"
    (worktree / "part1.py").write_text("PART = 1\n")
    common.git(["add", "-A"], worktree, env)
    common.git(["commit", "-q", "-m", "part 1"], worktree, env)
    return repo


def run(argv: list[str], repo: Path, env: dict[str, str]) -> float:
    return common.timed(partial(subprocess.run, argv, cwd=repo, env=env, capture_output=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    work = common.scratch()
    try:
        env = common.sealed_env(work)
        repo = prepare(work, env)
        floor_cmd = [sys.executable, "-c", "pass"]
        print(f"{'command':<34} {'floor':>8} {'dispatch':>9} {'ratio':>6} {'extra':>8}")
        for command in COMMANDS:
            found = common.interleaved(args.runs, {
                "floor": partial(run, floor_cmd, repo, env),
                "dispatch": partial(run, common.dispatch_cmd(*command), repo, env)})
            extra = (found["dispatch"] - found["floor"]) * 1000
            print(f"{' '.join(command):<34} {found['floor'] * 1000:7.0f}ms "
                  f"{found['dispatch'] * 1000:7.0f}ms {found['dispatch'] / found['floor']:6.1f}"
                  f" {extra:+7.0f}ms")
    finally:
        common.clean(work)


if __name__ == "__main__":
    main()
