"""Provisioning: `dispatch start --no-agents --no-setup` against the naive worktree loop.

    python benchmarks/bench_start.py [--files 2500] [--runs 5] [--sizes 8,32]

The floor is the seed's loop, measured in the same run: `git worktree add -b <branch> <path>`
once per workstream, one after another. dispatch registers worktrees one at a time with
--no-checkout (git races otherwise) and checks them out in parallel. Target: ratio <= 0.75
at N = 32.
"""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

import common


def naive_loop(repo: Path, env: dict[str, str], count: int) -> float:
    def run() -> None:
        for index in range(1, count + 1):
            common.git(["worktree", "add", "-q", "-b", f"naive/part-{index}",
                        str(repo / ".naive" / f"part-{index}"), "HEAD"], repo, env)

    seconds = common.timed(run)
    common.clean(repo / ".naive")
    common.git(["worktree", "prune"], repo, env)
    for index in range(1, count + 1):
        common.git(["branch", "-D", f"naive/part-{index}"], repo, env)
    return seconds


def dispatch_start(repo: Path, env: dict[str, str], spec: Path) -> float:
    import subprocess

    command = common.dispatch_cmd("start", str(spec), "--no-agents", "--no-setup")
    seconds = common.timed(lambda: subprocess.run(command, cwd=repo, env=env, check=True,
                                                  capture_output=True))
    common.clean(repo / ".worktrees")
    common.git(["worktree", "prune"], repo, env)
    branches = common.git(["branch", "--list", "bench/*", "--format=%(refname:short)"],
                          repo, env).split()
    common.git(["branch", "-D", *branches], repo, env)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sizes", default="8,32")
    parser.add_argument("--on", choices=("tmpfs", "disk"), default="tmpfs")
    args = parser.parse_args()
    work = common.scratch(args.on)
    try:
        env = common.sealed_env(work)
        repo = common.make_repo(work / "repo", env, args.files)
        print(f"repository: {args.files} files, on {work}; medians of {args.runs} interleaved "
              "runs")
        for count in (int(n) for n in args.sizes.split(",")):
            spec = work / f"spec{count}.md"
            spec.write_text(common.spec_text(count))
            medians = common.interleaved(args.runs, {
                "naive": partial(naive_loop, repo, env, count),
                "dispatch": partial(dispatch_start, repo, env, spec)})
            ratio = medians["dispatch"] / medians["naive"]
            print(f"N={count:3d}  naive loop {medians['naive']:6.2f}s  dispatch start "
                  f"{medians['dispatch']:6.2f}s  ratio {ratio:.2f}"
                  + ("  (target <= 0.75)" if count == 32 else ""))
    finally:
        common.clean(work)


if __name__ == "__main__":
    main()
