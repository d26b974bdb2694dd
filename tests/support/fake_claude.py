"""A fake `claude` for tests: the real CLI's option grammar and JSON result shapes.

Accepts exactly the options of @anthropic-ai/claude-code 2.1.197 (unknown ones are refused the
way commander refuses them), keeps sessions per working directory like the real CLI (so
`--resume` from another folder fails), and does what a script tells it, one step per run of
each workstream:

    FAKE_CLAUDE_STATE=<dir>   calls.jsonl (every run, when it starts), ends.jsonl (every run
                              that gets to its reply, just before it prints it) and sessions
                              live here
    <dir>/script.json         {"<workstream>" or "*": [step, ...]}

A step is a dict: "hold" (a barrier: add a line to `<path>.<workstream>.started`, then wait
until `<path>` exists; tests/support/fakes.py `Barrier` drives it), "sleep" (seconds),
"until" (after any "sleep", wait until a wall-clock moment so that several workers finish at
the same instant: epoch seconds, or the path of a file that will hold them — wait for the
file, then for its moment), "do" ("work" | "nowork" | "commit" | "results" | "conflict"),
"reply" (see REPLIES), "cost", "turns", or "raw" (print exactly this, `$SESSION` replaced by
the session id, and exit with "exit"), "run_before_reply" (an argv run after the work),
"hold_after" (a barrier like "hold", after the work: a worker that committed and still runs).
"do": "broken" works but leaves BROKEN in its file (a verify that greps for it fails), "fix"
does what the autopilot's hand-back prompt asks (merge the integration branch keeping both
sides of a conflict, take BROKEN out), "break_git" replaces the worktree's .git link with
garbage; "detach", "own_branch" and "diverge" commit off the workstream's branch (see
LEAVE_BRANCH); "batch" fixes the items of the queue batch its prompt lists (a line
`fixed <item id>` in each item's file, one commit). After the last step: work + success.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

VALUE_OPTIONS = {
    "--add-dir": "many", "--agent": "one", "--agents": "one", "--allowedTools": "many",
    "--allowed-tools": "many", "--append-system-prompt": "one", "--betas": "many",
    "-d": "optional", "--debug": "optional", "--debug-file": "one",
    "--disallowedTools": "many", "--disallowed-tools": "many", "--effort": "one",
    "--fallback-model": "one", "--file": "many", "--from-pr": "optional",
    "--input-format": "one", "--json-schema": "one", "--max-budget-usd": "one",
    "--mcp-config": "many", "--model": "one", "-n": "one", "--name": "one",
    "--output-format": "one", "--permission-mode": "one", "--plugin-dir": "one",
    "--plugin-url": "one", "--prompt-suggestions": "optional", "--remote-control": "optional",
    "--remote-control-session-name-prefix": "one", "-r": "optional", "--resume": "optional",
    "--session-id": "one", "--setting-sources": "one", "--settings": "one",
    "--system-prompt": "one", "--tools": "many", "-w": "optional", "--worktree": "optional",
    "--max-turns": "one", "--append-system-prompt-file": "one", "--system-prompt-file": "one",
}
FLAGS = {
    "--allow-dangerously-skip-permissions", "--ax-screen-reader", "--bg", "--background",
    "--bare", "--brief", "--chrome", "-c", "--continue", "--dangerously-skip-permissions",
    "--disable-slash-commands", "--exclude-dynamic-system-prompt-sections", "--fork-session",
    "-h", "--help", "--ide", "--include-hook-events", "--include-partial-messages",
    "--no-chrome", "--no-session-persistence", "-p", "--print", "--replay-user-messages",
    "--safe-mode", "--strict-mcp-config", "--tmux", "--verbose", "-v", "--version",
}
CHOICES = {
    "--output-format": ("text", "json", "stream-json"),
    "--permission-mode": ("acceptEdits", "auto", "bypassPermissions", "default", "dontAsk",
                          "plan"),
}
ALIASES = {"-r": "--resume", "--allowed-tools": "--allowedTools", "-n": "--name"}
HOLD_LIMIT = 300.0
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


class UsageError(Exception):
    pass


def parse(argv: list[str]) -> tuple[dict[str, Any], list[str]]:
    """Commander's rules: variadic options take values up to the next dash argument."""
    options: dict[str, Any] = {}
    positional: list[str] = []
    index = 0
    while index < len(argv):
        arg = argv[index]
        index += 1
        if arg == "--":
            positional.extend(argv[index:])
            break
        if not arg.startswith("-") or arg == "-":
            positional.append(arg)
            continue
        name, has_value, inline = arg.partition("=")
        kind = VALUE_OPTIONS.get(name)
        if name in FLAGS and not has_value:
            options[name] = True
            continue
        if kind is None:
            raise UsageError(f"error: unknown option '{arg}'")
        values = [inline] if has_value else []
        while index < len(argv) and not argv[index].startswith("-") and (
                kind == "many" or not values):
            values.append(argv[index])
            index += 1
        if kind == "one" and not values:
            raise UsageError(f"error: option '{name} <value>' argument missing")
        options[ALIASES.get(name, name)] = values if kind == "many" else (
            values[0] if values else True)
    return options, positional


def validate(options: dict[str, Any]) -> None:
    for name, allowed in CHOICES.items():
        if name in options and options[name] not in allowed:
            raise UsageError(f"error: option '{name} <format>' argument '{options[name]}' is "
                             f"invalid. Allowed choices are {', '.join(allowed)}.")
    session = options.get("--session-id")
    if session is not None and not UUID.match(str(session)):
        raise UsageError("Error: Invalid session ID. Must be a valid UUID.")
    if session is not None and "--resume" in options and "--fork-session" not in options:
        raise UsageError("Error: --session-id can only be used with --continue or --resume "
                         "if --fork-session is also specified.")


def state_dir() -> Path:
    return Path(os.environ["FAKE_CLAUDE_STATE"])


def session_file(session_id: str) -> Path:
    cwd = hashlib.sha1(str(Path.cwd()).encode()).hexdigest()[:12]
    return state_dir() / "sessions" / cwd / session_id


def next_step(workstream: str) -> dict[str, Any]:
    script_path = state_dir() / "script.json"
    script = json.loads(script_path.read_text()) if script_path.exists() else {}
    counter = state_dir() / f"counter-{workstream}"
    index = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(index + 1))
    steps = script.get(workstream, script.get("*", []))
    return steps[index] if index < len(steps) else {"do": "work", "reply": "success"}


def git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=False)


LEAVE_BRANCH = {
    "detach": [["checkout", "-q", "--detach"], ["work"]],
    "own_branch": [["switch", "-q", "-c", "worker-own"], ["work"]],
    "diverge": [["work"], ["checkout", "-q", "--detach", "HEAD~1"],
                ["commit", "-q", "--allow-empty", "-m", "diverged from the branch"]],
}


def follow_the_fix_prompt(prompt: str, workstream: str) -> None:
    """What a good worker does with the autopilot's hand-back: merge the integration branch
    (resolving a conflict by keeping both sides), and take out what broke the tests."""
    found = re.search(r"git merge `?([\w./-]+)", prompt)
    if found and git("merge", "--no-edit", "-q", found[1]).returncode != 0:
        for name in git("diff", "--name-only", "--diff-filter=U").stdout.split():
            kept = [line for line in Path(name).read_text().splitlines(keepends=True)
                    if not line.startswith(("<<<<<<<", "=======", ">>>>>>>"))]
            Path(name).write_text("".join(kept))
            git("add", name)
        git("-c", "commit.gpgsign=false", "commit", "-q", "--no-edit")
    mine = Path("work") / f"{workstream}.txt"
    if mine.exists() and "BROKEN" in mine.read_text():
        mine.write_text(mine.read_text().replace("BROKEN", "fixed"))
        git("-c", "commit.gpgsign=false", "commit", "-q", "-am", f"{workstream}: fix the tests")


# An item of a queue batch as dispatch's batch prompt lists it (batch_prompt.md.j2).
QUEUE_ITEM = re.compile(r"^- item (\S+:\d+) — (.*)$", re.M)


def fix_the_batch(prompt: str, workstream: str) -> None:
    """What a good worker does with a queue batch: each item the prompt lists gets a line
    `fixed <id>` in the file it names (or fixed.txt), all in one commit."""
    found = QUEUE_ITEM.findall(prompt)
    for item_id, text in found:
        named = re.search(r"`([^`]+)`", text)
        target = Path(named[1] if named else "fixed.txt")
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("a") as handle:
            handle.write(f"fixed {item_id}\n")
    git("add", "-A")
    git("-c", "commit.gpgsign=false", "commit", "-q", "-m",
        f"{workstream}: {len(found)} item(s)")


ANSWERS = {"fix": follow_the_fix_prompt, "batch": fix_the_batch}


def do_work(action: str, workstream: str, run: int, prompt: str = "") -> None:
    if action in ANSWERS:  # do what the prompt asks, then write RESULTS.md
        ANSWERS[action](prompt, workstream)
        action = "results"
    if action == "broken":  # work that turns the project's tests red
        Path("work").mkdir(exist_ok=True)
        (Path("work") / f"{workstream}.txt").write_text("BROKEN\n")
        action = "work"
    if action == "break_git":  # a worker that replaced its worktree's .git link
        Path(".git").unlink()
        Path(".git").write_text("gitdir: /nonexistent\n")
        return
    if action in LEAVE_BRANCH:  # workers run git themselves: they leave their branch
        for args in LEAVE_BRANCH[action]:
            if args == ["work"]:
                do_work("work", workstream, run)
            else:
                git(*args)
        return
    work_dir = Path(".workstream")
    if action in ("work", "commit", "conflict"):
        target = Path("shared.txt") if action == "conflict" else Path("work") / f"{workstream}.txt"
        target.parent.mkdir(exist_ok=True)
        text = f"{workstream} was here\n" if action == "conflict" else f"run {run}\n"
        with target.open("a" if action != "conflict" else "w") as handle:
            handle.write(text)
        git("add", "-A")
        # A worker whose commits work even where signing is configured (it signs, or
        # skips it): the tests of dispatch's own commits need the worker's to succeed.
        git("-c", "commit.gpgsign=false", "commit", "-q", "-m", f"{workstream}: run {run}")
    if action in ("work", "results", "conflict"):
        tasks = work_dir / "TASKS.md"
        if tasks.exists():
            tasks.write_text(re.sub(r"^(\s*)- \[ \]", r"\1- [x]", tasks.read_text(), flags=re.M))
        (work_dir / "RESULTS.md").write_text(f"# {workstream}\n\nDid the work (run {run}).\n")


REPLIES: dict[str, tuple[int, dict[str, Any] | str]] = {
    "success": (0, {"subtype": "success", "is_error": False, "result": "All tasks done."}),
    "not_logged_in": (1, {"subtype": "success", "is_error": True, "api_error_status": None,
                          "result": "Not logged in · Please run /login"}),
    "api_401": (1, {"subtype": "success", "is_error": True, "api_error_status": 401,
                    "result": "Invalid API key · Fix external API key"}),
    "api_500": (1, {"subtype": "success", "is_error": True, "api_error_status": 500,
                    "result": "API Error: 500 Internal server error. This is a server-side "
                              "issue, usually temporary — try again in a moment."}),
    "api_529": (1, {"subtype": "success", "is_error": True, "api_error_status": 529,
                    "result": "API Error: 529 Overloaded."}),
    "refused": (1, {"subtype": "success", "is_error": True, "api_error_status": None,
                    "result": "API Error: Unable to connect to API (ConnectionRefused)"}),
    "max_turns": (1, {"subtype": "error_max_turns", "is_error": True,
                      "errors": ["Reached maximum number of turns (3)"]}),
    "budget": (1, {"subtype": "error_max_budget_usd", "is_error": True,
                   "errors": ["Reached maximum budget ($0.50)"]}),
    "empty": (1, ""),
    "garbage": (2, "Segmentation fault (core dumped)\n\x00\x01 not json"),
}


def reply(step: dict[str, Any], session_id: str) -> int:
    if "raw" in step:  # exactly this on stdout: a result a misbehaving CLI could print
        sys.stdout.write(str(step["raw"]).replace("$SESSION", session_id))
        return int(step.get("exit", 0))
    kind = str(step.get("reply", "success"))
    if kind == "huge":
        sys.stdout.write("x" * (50 * 1024 * 1024))
        return 1
    if kind == "die":
        os.kill(os.getpid(), 9)
    code, body = REPLIES[kind]
    if isinstance(body, str):
        sys.stdout.write(body)
        sys.stderr.write("fatal: the fake crashed on purpose\n")
        return code
    result = {"type": "result", "duration_ms": 1234, "num_turns": step.get("turns", 3),
              "session_id": session_id, "total_cost_usd": step.get("cost", 0.01), **body}
    if result["subtype"] != "success":
        result.pop("result", None)
    print(json.dumps(result))
    return code


def take_an_api_slot() -> bool:
    """With FAKE_CLAUDE_API_CAPACITY=N, an API that answers 529 (overloaded) to a run that
    finds N others running already (each answer is logged in overloaded.jsonl)."""
    capacity = os.environ.get("FAKE_CLAUDE_API_CAPACITY")
    if not capacity:
        return True
    import fcntl

    slots = state_dir() / "api"
    slots.mkdir(exist_ok=True)
    with (state_dir() / "api.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        live = [p for p in slots.iterdir() if _alive(int(p.name))]
        for gone in set(slots.iterdir()) - set(live):
            gone.unlink()
        if len(live) >= int(capacity):
            with (state_dir() / "overloaded.jsonl").open("a") as log:
                log.write(json.dumps({"time": time.time(), "running": len(live)}) + "\n")
            return False
        (slots / str(os.getpid())).touch()
        return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def hold(barrier: str, workstream: str) -> None:
    """Say this run has started (one line per run), then wait until the test releases the
    barrier."""
    with Path(f"{barrier}.{workstream}.started").open("a") as started:
        started.write(f"{os.getpid()}\n")
    give_up = time.monotonic() + HOLD_LIMIT  # a backstop: a failed test never releases it
    while not Path(barrier).exists():
        if time.monotonic() > give_up:
            print(f"fake claude: barrier {barrier} not released in {HOLD_LIMIT:.0f}s",
                  file=sys.stderr)
            sys.exit(3)
        time.sleep(0.01)


def log_end(workstream: str, session_id: str) -> None:
    with (state_dir() / "ends.jsonl").open("a") as log:
        log.write(json.dumps({"workstream": workstream, "session_id": session_id,
                              "time": time.time()}) + "\n")


def wait_until(moment: float | str) -> None:
    if isinstance(moment, str):  # a file that will hold the moment
        holder = Path(moment)
        while not holder.exists() or not holder.read_text().strip():
            time.sleep(0.01)
        moment = float(holder.read_text())
    time.sleep(max(0.0, float(moment) - time.time()))


def main(argv: list[str]) -> int:
    try:
        options, positional = parse(argv)
        validate(options)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 1
    if options.get("--version"):
        print("2.1.197 (Claude Code)")
        return 0
    if not options.get("-p"):  # interactive (`dispatch attach`): say what it was given
        with (state_dir() / "interactive.jsonl").open("a") as log:
            log.write(json.dumps({"argv": argv, "cwd": str(Path.cwd()),
                                  "stdin_is_a_terminal": sys.stdin.isatty(),
                                  "stdout_is_a_terminal": sys.stdout.isatty()}) + "\n")
        print("interactive stand-in: bye")
        return 0
    workstream = os.environ.get("DISPATCH_WORKSTREAM", Path.cwd().name)
    resume = options.get("--resume")
    session_id = str(resume if isinstance(resume, str) else options.get("--session-id")
                     or uuid.uuid4())
    with (state_dir() / "calls.jsonl").open("a") as log:
        log.write(json.dumps({"argv": argv, "cwd": str(Path.cwd()), "workstream": workstream,
                              "session_id": session_id, "resume": resume is not None,
                              "prompt": positional[-1] if positional else None,
                              "time": time.time()}) + "\n")
    record = session_file(session_id)
    if resume is not None and not record.exists():
        print(f"No conversation found with session ID: {session_id}", file=sys.stderr)
        return 1
    if resume is None and record.exists():
        print(f"Error: Session ID {session_id} is already in use.", file=sys.stderr)
        return 1
    record.parent.mkdir(parents=True, exist_ok=True)
    runs = int(record.read_text()) + 1 if record.exists() else 1
    record.write_text(str(runs))
    step = next_step(workstream)
    if not take_an_api_slot():
        return reply({"reply": "api_529"}, session_id)
    take_step(step, workstream, runs, positional[-1] if positional else "")
    log_end(workstream, session_id)
    return reply(step, session_id)


def take_step(step: dict[str, Any], workstream: str, runs: int, prompt: str) -> None:
    """Everything a step does before its reply, in order."""
    if "hold" in step:
        hold(str(step["hold"]), workstream)
    time.sleep(float(step.get("sleep", 0)))
    if "until" in step:
        wait_until(step["until"])
    do_work(str(step.get("do", "work")), workstream, runs, prompt)
    if "run_before_reply" in step:  # e.g. make the state folder refuse writes as it ends
        subprocess.run(step["run_before_reply"], check=True)
    if "hold_after" in step:  # its work is committed, and it is still running
        hold(str(step["hold_after"]), workstream)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
