"""Integration: `dispatch integrate` against a plain `git merge --no-ff` loop; `dispatch check`
against the same `git merge-tree` calls made directly.

    python benchmarks/bench_integrate.py [--files 2000,20000] [--branches 8] [--runs 5]

The floor for integrate is the same job done by hand: a worktree for the integration branch
(`git worktree add -b`) and one `git merge --no-ff` per branch. Target: ratio <= 1.5.
dispatch merges in memory (merge-tree + commit-tree), so its cost barely grows with the
repository while the loop's does; its fixed cost is Python's start-up with Typer, pydantic
and Jinja, printed alongside so the ratio can be read at each size.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from functools import partial
from itertools import combinations
from pathlib import Path

import common


def prepare(work: Path, env: dict[str, str], files: int, branches: int) -> Path:
    repo = common.make_repo(work / "repo", env, files)
    spec = work / "spec.md"
    spec.write_text(common.spec_text(branches))
    common.ready_workstreams(repo, env, spec, branches,
                             lambda i: {f"feature_{i}.py": f"PART = {i}\n"})
    return repo


def reset_integration(repo: Path, env: dict[str, str]) -> None:
    common.clean(repo / ".worktrees" / "bench" / "integration")
    common.clean(repo / ".plain")
    common.git(["worktree", "prune"], repo, env)
    for branch in ("bench/integration", "plain-integration"):
        subprocess.run(["git", "branch", "-D", branch], cwd=repo, env=env, capture_output=True)
    state_file = repo / ".worktrees" / "bench" / "sessions.json"
    state = json.loads(state_file.read_text())
    state["integration"] = None
    state_file.write_text(json.dumps(state))


def plain_loop(repo: Path, env: dict[str, str], branches: int) -> float:
    reset_integration(repo, env)
    target = repo / ".plain"

    def run() -> None:
        common.git(["worktree", "add", "-q", "-b", "plain-integration", str(target), "main"],
                   repo, env)
        for index in range(1, branches + 1):
            common.git(["merge", "--no-ff", "-q", "-m", f"Merge part-{index} workstream",
                        f"bench/part-{index}"], target, env)

    return common.timed(run)


def dispatch_integrate(repo: Path, env: dict[str, str]) -> float:
    reset_integration(repo, env)
    return common.timed(lambda: subprocess.run(common.dispatch_cmd("integrate"), cwd=repo,
                                               env=env, check=True, capture_output=True))


def direct_merge_trees(repo: Path, env: dict[str, str], branches: int) -> float:
    names = [f"bench/part-{i}" for i in range(1, branches + 1)]

    def run() -> None:
        for a, b in combinations(names, 2):
            subprocess.run(["git", "merge-tree", "--write-tree", "--name-only", a, b],
                           cwd=repo, env=env, capture_output=True)

    return common.timed(run)


def dispatch_check(repo: Path, env: dict[str, str]) -> float:
    return common.timed(lambda: subprocess.run(common.dispatch_cmd("check", "--json"),
                                               cwd=repo, env=env, check=True,
                                               capture_output=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", default="2000,20000")
    parser.add_argument("--branches", type=int, default=8)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for files in (int(n) for n in args.files.split(",")):
        measure(files, args.branches, args.runs)


def startup(env: dict[str, str]) -> float:
    code = ("from dispatch.cli import load_app; load_app(); import dispatch.commands.integrate; "
            "from dispatch.core.render import environment; "
            "environment(None).get_template('INTEGRATION.md.j2')")
    return common.timed(lambda: subprocess.run([sys.executable, "-c", code], env=env,
                                               check=True))


def measure(files: int, branches: int, runs: int) -> None:
    work = common.scratch()
    try:
        env = common.sealed_env(work)
        repo = prepare(work, env, files, branches)
        medians = common.interleaved(runs, {
            "plain": partial(plain_loop, repo, env, branches),
            "dispatch": partial(dispatch_integrate, repo, env),
            "startup": partial(startup, env)})
        print(f"{branches} branches, {files}-file repository: plain worktree + merge --no-ff "
              f"loop {medians['plain']:.3f}s; dispatch integrate {medians['dispatch']:.3f}s; "
              f"ratio {medians['dispatch'] / medians['plain']:.2f} (target <= 1.5); of which "
              f"Python start-up and imports {medians['startup']:.3f}s")
        checks = common.interleaved(runs, {
            "direct": partial(direct_merge_trees, repo, env, branches),
            "dispatch": partial(dispatch_check, repo, env)})
        pairs = branches * (branches - 1) // 2
        print(f"conflict check, {pairs} pairs: git merge-tree calls {checks['direct']:.3f}s; "
              f"dispatch check {checks['dispatch']:.3f}s; ratio "
              f"{checks['dispatch'] / checks['direct']:.2f}")
    finally:
        common.clean(work)


if __name__ == "__main__":
    main()
