"""Scale: 50 workstreams provisioned, run (rehearsal worker) and integrated on this machine.

    python benchmarks/bench_scale.py [--workstreams 50] [--files 500] [--parallel 8]

Prints the wall time of each phase, the peak memory (RSS) of dispatch's own processes — the
command and its detached supervisor, sampled every 50 ms — and the disk used per worktree.
"""

from __future__ import annotations

import argparse
import subprocess
import threading
from pathlib import Path

import common
import psutil


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


class PeakMemory:
    """Samples the RSS of every `python -m dispatch...` process of this run."""

    def __init__(self, root: Path) -> None:
        self.root, self.peak, self.stop = str(root), 0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(0.05):
            for process in psutil.process_iter(["cmdline", "memory_info"]):
                cmdline = " ".join(process.info.get("cmdline") or [])
                if "-m dispatch" in cmdline and "rehearsal" not in cmdline and \
                        process.info.get("memory_info"):
                    self.peak = max(self.peak, process.info["memory_info"].rss)

    def __enter__(self) -> PeakMemory:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop.set()
        self.thread.join()


def phase(label: str, command: list[str], repo: Path, env: dict[str, str]) -> float:
    seconds = common.timed(lambda: subprocess.run(command, cwd=repo, env=env, check=True,
                                                  capture_output=True))
    print(f"  {label:38s} {seconds:7.2f}s")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workstreams", type=int, default=50)
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--on", choices=("tmpfs", "disk"), default="tmpfs")
    args = parser.parse_args()
    work = common.scratch(args.on)
    try:
        env = {**common.sealed_env(work), "DISPATCH_REHEARSAL_SECONDS": "0.5"}
        repo = common.make_repo(work / "repo", env, args.files)
        spec = work / "spec.md"
        spec.write_text(common.spec_text(args.workstreams))
        print(f"{args.workstreams} workstreams, {args.files}-file repository on {args.on}, "
              f"--max-parallel {args.parallel}, rehearsal worker (0.5 s per session):")
        with PeakMemory(repo) as memory:
            total = phase("provision (start --no-agents)", common.dispatch_cmd(
                "start", str(spec), "--no-agents", "--no-setup"), repo, env)
            total += phase("run all sessions (start --wait)", common.dispatch_cmd(
                "start", "bench", "--rehearse", "--wait", "--max-parallel",
                str(args.parallel)), repo, env)
            total += phase("status --json", common.dispatch_cmd("status", "--json"), repo, env)
            total += phase("integrate (all 50 merged)", common.dispatch_cmd("integrate"),
                           repo, env)
        feature = repo / ".worktrees" / "bench"
        per_worktree = du(feature / "part-1")
        print(f"  {'total':38s} {total:7.2f}s")
        print(f"peak memory of one dispatch process: {memory.peak / 2**20:.0f} MiB; disk per "
              f"worktree {per_worktree / 2**20:.1f} MiB (the repository's files: "
              f"{du(repo) / 2**20 - du(repo / '.worktrees') / 2**20:.1f} MiB with .git)")
    finally:
        common.clean(work)


if __name__ == "__main__":
    main()
