"""Live workers: what following their streams costs.

    python benchmarks/bench_live.py [--workers 8] [--seconds 60] [--rate 5] [--status 32]

1. The supervisor's CPU while 8 workers stream events for a minute (5 tool calls and 5 tool
   results a second each, like a busy Claude session): its CPU seconds over the wall time,
   as a share of one core. Target: under 2%.
2. `dispatch status --json` on 32 workstreams whose workers are all streaming, against the
   floor "python start-up + `git worktree list` + `git status` in every worktree, 4 at a
   time" (as in bench_sessions.py). Target: within 2x.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import common
import psutil
from bench_sessions import status_floor

STREAMER = '''\
import json, sys, time
seconds, rate, args = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
if "--version" in args:
    print("2.1.197 (Claude Code)")
    sys.exit(0)
session = args[args.index("--session-id") + 1] if "--session-id" in args else "s"
def say(event):
    print(json.dumps(event), flush=True)
say({"type": "system", "subtype": "init", "cwd": ".", "session_id": session})
end = time.time() + seconds
n = 0
while time.time() < end:
    n += 1
    say({"type": "assistant", "message": {"id": f"m{n}", "content": [{"type": "tool_use",
         "id": f"t{n}", "name": "Edit", "input": {"file_path": f"src/f{n % 7}.py"}}]}})
    say({"type": "user", "message": {"content": [{"type": "tool_result", "tool_use_id":
         f"t{n}", "content": "ok " * 50}]}})
    time.sleep(1 / rate)
say({"type": "result", "subtype": "success", "is_error": False, "num_turns": n,
     "result": "done", "session_id": session, "total_cost_usd": 0.0})
'''


def streaming_program(work: Path, seconds: float, rate: float) -> Path:
    script = work / "streamer.py"
    script.write_text(STREAMER)
    program = work / "claude"
    program.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{script}" {seconds} {rate} "$@"\n')
    program.chmod(0o755)
    return program


def supervisor_cpu(repo: Path, env: dict[str, str], program: Path, workers: int,
                   seconds: float) -> tuple[float, float]:
    spec = repo / "spec.md"
    spec.write_text(common.spec_text(workers))
    subprocess.run(common.dispatch_cmd("start", str(spec), "--no-setup", "--max-parallel",
                                       str(workers), "--claude", str(program),
                                       "--no-follow-up"), cwd=repo, env=env, check=True,
                   capture_output=True)
    pid = int((repo / ".worktrees/bench/.supervisor.lock").read_text().strip())
    supervisor = psutil.Process(pid)
    time.sleep(2)  # past its start-up: measure the steady state of following
    before, began = supervisor.cpu_times(), time.monotonic()
    time.sleep(seconds - 4)
    after, wall = supervisor.cpu_times(), time.monotonic() - began
    used = (after.user + after.system) - (before.user + before.system)
    while psutil.pid_exists(pid):
        time.sleep(0.5)
    return used, wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=5)
    parser.add_argument("--status", type=int, default=32)
    options = parser.parse_args()
    work = common.scratch()
    try:
        env = common.sealed_env(work)
        repo = common.make_repo(work / "repo", env, 200)
        program = streaming_program(work, options.seconds, options.rate)
        used, wall = supervisor_cpu(repo, env, program, options.workers, options.seconds)
        share = 100 * used / wall
        print(f"supervisor CPU with {options.workers} workers streaming {options.rate:g} "
              f"tool calls/s each for {wall:.0f}s: {used:.2f}s = {share:.2f}% of one core "
              f"(target < 2%)")
        live_status(work, env, options)
    finally:
        common.clean(work)


def live_status(work: Path, env: dict[str, str], options: argparse.Namespace) -> None:
    repo = common.make_repo(work / "repo32", env, 200)
    program = streaming_program(work, 120, options.rate)
    spec = repo / "spec.md"
    spec.write_text(common.spec_text(options.status))
    subprocess.run(common.dispatch_cmd("start", str(spec), "--no-setup", "--max-parallel",
                                       str(options.status), "--claude", str(program)),
                   cwd=repo, env=env, check=True, capture_output=True)
    time.sleep(3)
    status = common.dispatch_cmd("status", "--json")
    out = subprocess.run(status, cwd=repo, env=env, check=True, capture_output=True).stdout
    live = sum(1 for w in json.loads(out)["workstreams"] if w["activity"])
    times = common.interleaved(5, {
        "floor": lambda: status_floor(repo, env),
        "status": lambda: common.timed(lambda: subprocess.run(status, cwd=repo, env=env,
                                                              check=True,
                                                              capture_output=True))})
    print(f"status --json, {options.status} workstreams ({live} streaming): "
          f"{times['status']:.3f}s vs floor {times['floor']:.3f}s = "
          f"{times['status'] / times['floor']:.2f}x (target <= 2x)")
    subprocess.run(common.dispatch_cmd("stop"), cwd=repo, env=env, check=False,
                   capture_output=True)


if __name__ == "__main__":
    main()
