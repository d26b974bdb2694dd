"""`dispatch split` over a large linter report, against `dispatch plan` of the spec it writes.

    python benchmarks/bench_split.py [--files 2000] [--findings 20000] [--into 8] [--runs 5]

The floor is what reading the result costs anyway: `dispatch plan` on the same spec (Python
start-up, the parser, the printed plan). `split` also reads the report (ruff's JSON), lists
the repository's files once (`git ls-files`), places every finding's path and balances the
files; target: ratio <= 2. Findings are skewed (a few files hold many) as real reports are.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
from functools import partial
from pathlib import Path

import common


def report(repo: Path, files: int, findings: int) -> Path:
    chance = random.Random(7)
    weights = [1 / (index + 1) for index in range(files)]  # Zipf-like: a long tail
    rows = []
    for number, index in enumerate(chance.choices(range(files), weights, k=findings)):
        path = repo / f"pkg{index % 40}" / f"module_{index}.py"
        rows.append({"cell": None, "code": chance.choice(["F401", "E711", "F841", "E501"]),
                     "end_location": {"column": 9, "row": number % 20 + 1},
                     "filename": str(path), "fix": None,
                     "location": {"column": 1, "row": number % 20 + 1},
                     "message": "`os` imported but unused", "noqa_row": number % 20 + 1,
                     "url": "https://docs.astral.sh/ruff/rules/unused-import"})
    out = repo.parent / "ruff.json"
    out.write_text(json.dumps(rows))
    return out


def run_split(repo: Path, env: dict[str, str], items: Path, into: int) -> float:
    return common.timed(lambda: subprocess.run(
        common.dispatch_cmd("split", "--items", str(items), "--into", str(into), "--name",
                            "bench", "--task", "Fix these", "--force", "--format", "plain"),
        cwd=repo, env=env, check=True, capture_output=True))


def run_plan(repo: Path, env: dict[str, str]) -> float:
    [spec] = (repo / "specs").glob("*_bench.md")
    return common.timed(lambda: subprocess.run(
        common.dispatch_cmd("plan", str(spec), "--format", "plain"), cwd=repo, env=env,
        check=True, capture_output=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--findings", type=int, default=20000)
    parser.add_argument("--into", type=int, default=8)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    work = common.scratch()
    try:
        env = common.sealed_env(work)
        repo = common.make_repo(work / "repo", env, args.files)
        items = report(repo, args.files, args.findings)
        run_split(repo, env, items, args.into)  # writes the spec that plan reads
        medians = common.interleaved(args.runs, {
            "plan": partial(run_plan, repo, env),
            "split": partial(run_split, repo, env, items, args.into)})
        print(f"{args.findings} findings in a {args.files}-file repository, {args.into} "
              f"workstreams: dispatch plan of the spec {medians['plan']:.3f}s; dispatch split "
              f"{medians['split']:.3f}s; ratio {medians['split'] / medians['plan']:.2f} "
              "(target <= 2)")
    finally:
        common.clean(work)


if __name__ == "__main__":
    main()
