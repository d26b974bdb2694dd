"""A `claude` stand-in that misbehaves on purpose, for the misbehaving-worker campaign.

It speaks the real CLI's option grammar and keeps sessions per working folder (both borrowed
from tests/support/fake_claude.py), and does what a real session with Bash could do: the
misbehaviour its plan names for its workstream (tests/support/misbehaviours/), on its first
run only or on every run. A well-behaved run commits its work, ticks the boxes and
writes RESULTS.md; a follow-up brings a detached HEAD back onto its branch, as asked.

    MISBEHAVE_STATE=<dir>   FAKE_CLAUDE_STATE points here too (sessions, calls.jsonl)
    <dir>/plan.json         {"outside": <dir>, "workers": {"<ws>": {"misbehaviour": name,
                             "repeat": bool}}}; a workstream not named behaves well
    <dir>/exits.jsonl       one line per run that got to its end: the commits it left
                            reachable (its HEAD, its branch, refs it made) and the files it
                            wrote that are work (path -> git blob id, or size), for the
                            campaign's checks
    <dir>/lost.jsonl        commits a run's previous exit left reachable that were gone
                            when it started again (dispatch lost them between runs)

Run as `python -m tests.support.misbehaving_worker` with the repository on PYTHONPATH
(tests/support/campaign.py writes the wrapper).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.support import fake_claude, reach


@dataclass
class Reply:
    """What the run prints and how it ends; the default is a valid success result."""

    exit: int = 0
    stdout: str | None = None  # exactly this on stdout ($SESSION: the session id)
    hang: bool = False  # sleep until killed (after the exit record is written)


@dataclass
class Worker:
    ws: str
    branch: str
    run: int
    session_id: str
    feature_dir: Path
    outside: Path
    state: Path
    home: Path = field(default_factory=Path.cwd)  # its worktree (it may delete it)
    extra: dict[str, Any] = field(default_factory=dict)  # the plan's extras for its behaviour
    kept: dict[str, str] = field(default_factory=dict)  # label -> commit it leaves alive
    files: dict[str, str] = field(default_factory=dict)  # path -> identity() of work it wrote
    children: list[int] = field(default_factory=list)  # background processes it left

    @property
    def root(self) -> Path:
        return self.feature_dir.parent.parent

    def git(self, *args: str, cwd: Path | None = None) -> str | None:
        return reach.git_out(cwd or self.home, *args)

    def head(self, cwd: Path | None = None) -> str | None:
        out = self.git("rev-parse", "--verify", "-q", "HEAD^{commit}", cwd=cwd)
        return out.strip() if out else None

    def keep(self, label: str, cwd: Path | None = None) -> None:
        """Remember the commit at HEAD (of `cwd`) as work that must stay reachable."""
        sha = self.head(cwd)
        if sha:
            self.kept[label] = sha

    def wrote(self, path: Path, text: str) -> None:
        """Write a file that is work: the campaign checks it is never deleted."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        self.files[str(path)] = identity(path)

    def work(self, action: str = "work") -> None:
        fake_claude.do_work(action, self.ws, self.run)


def identity(path: Path) -> str:
    """What makes a file the same file: its git blob id (so that a copy committed somewhere
    is found too), or its size for a big one."""
    size = path.stat().st_size
    if size > 1024 * 1024:
        return f"size:{size}"
    return hashlib.sha1(b"blob %d\0" % size + path.read_bytes()).hexdigest()


def plan_of(state: Path, ws: str) -> tuple[Path, dict[str, Any]]:
    plan = json.loads((state / "plan.json").read_text())
    return Path(plan["outside"]), plan["workers"].get(ws, {})


def feature_dir(options: dict[str, Any]) -> Path:
    dirs = options.get("--add-dir") or [str(Path.cwd().parent)]
    return Path(dirs[0])


def check_previous_exit(worker: Worker) -> None:
    """Whatever this workstream's previous run left reachable must still be: in between,
    only dispatch touched it (its done check, its dependency merge)."""
    log = worker.state / "exits.jsonl"
    lines = log.read_text().splitlines() if log.exists() else []
    previous = [json.loads(line) for line in lines]
    mine = [p for p in previous if p["ws"] == worker.ws and p["run"] < worker.run]
    if not mine:
        return
    gone = reach.lost(worker.root, mine[-1]["kept"])
    if gone:
        with (worker.state / "lost.jsonl").open("a") as out:
            out.write(json.dumps({"ws": worker.ws, "run": worker.run, "lost": gone}) + "\n")


def record_exit(worker: Worker) -> None:
    head = worker.head()
    if head and worker.git("cat-file", "-e", head, cwd=worker.root) is not None:
        worker.kept["HEAD at exit"] = head  # not when its .git is a repository of its own
    for path in (worker.outside / "links").glob(f"{worker.ws}-*/**/*"):
        if path.is_file():  # its .workstream, moved there and linked: its own files
            worker.files[str(path)] = identity(path)
    tip = worker.git("rev-parse", "--verify", "-q", f"refs/heads/{worker.branch}",
                     cwd=worker.root)
    if tip:
        worker.kept[f"{worker.branch} at exit"] = tip.strip()
    line = {"ws": worker.ws, "run": worker.run, "kept": worker.kept, "files": worker.files,
            "children": worker.children, "time": time.time()}
    with (worker.state / "exits.jsonl").open("a") as out:
        out.write(json.dumps(line) + "\n")


def respond(reply: Reply, session_id: str) -> int:
    if reply.hang:
        while True:
            time.sleep(3600)
    if reply.stdout is None:
        result = {"type": "result", "subtype": "success", "is_error": False, "num_turns": 3,
                  "duration_ms": 1000, "total_cost_usd": 0.01, "result": "All tasks done.",
                  "session_id": session_id}
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        sys.stdout.write(reply.stdout.replace("$SESSION", session_id))
    sys.stdout.flush()
    return reply.exit


def start_session(options: dict[str, Any]) -> tuple[str, int] | str:
    """(session id, run number), or the CLI's error message."""
    resume = options.get("--resume")
    session_id = str(resume if isinstance(resume, str) else options.get("--session-id"))
    record = fake_claude.session_file(session_id)
    if resume is not None and not record.exists():
        return f"No conversation found with session ID: {session_id}"
    if resume is None and record.exists():
        return f"Error: Session ID {session_id} is already in use."
    record.parent.mkdir(parents=True, exist_ok=True)
    runs = int(record.read_text()) + 1 if record.exists() else 1
    record.write_text(str(runs))
    return session_id, runs


def main(argv: list[str]) -> int:
    from tests.support import misbehaviours

    try:
        options, _ = fake_claude.parse(argv)
        fake_claude.validate(options)
    except fake_claude.UsageError as exc:
        print(exc, file=sys.stderr)
        return 1
    if options.get("--version"):
        print("2.1.197 (Claude Code)")
        return 0
    session = start_session(options)
    if isinstance(session, str):
        print(session, file=sys.stderr)
        return 1
    state = Path(os.environ["MISBEHAVE_STATE"])
    ws = os.environ["DISPATCH_WORKSTREAM"]
    outside, assigned = plan_of(state, ws)
    worker = Worker(ws, f"{os.environ['DISPATCH_FEATURE']}/{ws}", session[1], session[0],
                    feature_dir(options), outside, state, extra=assigned)
    check_previous_exit(worker)
    name = assigned.get("misbehaviour", "good")
    if worker.run > 1 and not assigned.get("repeat"):
        name = "good"
    behave = misbehaviours.CATALOGUE.get(name) or misbehaviours.SPECIAL[name]
    reply = behave(worker) or Reply()
    record_exit(worker)
    return respond(reply, worker.session_id)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
