"""`dispatch logs`: a workstream's session as a readable transcript (its tool calls, short
answers and what it said), or the raw event stream (`--raw`), live (`--follow`); then its
stderr, setup and verify logs. Everything a worker wrote is shown with control characters
made visible."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

from dispatch.core import files
from dispatch.core.errors import DispatchError
from dispatch.core.text import visible
from dispatch.sessions import run_result, transcript
from dispatch.sessions.stream import Follower, parse
from dispatch.state.names import unknown_workstream
from dispatch.state.paths import FeaturePaths
from dispatch.state.store import StateStore

POLL = 0.2


def runs(paths: FeaturePaths, name: str) -> list[int]:
    pattern = re.compile(rf"^{re.escape(name)}\.(\d+)\.(?:jsonl|json|stderr)$")
    found = {int(m[1]) for p in paths.logs.glob(f"{name}.*") if (m := pattern.match(p.name))}
    return sorted(found)


def show(paths: FeaturePaths, name: str, *, all_runs: bool, setup_only: bool = False,
         raw: bool = False, follow: bool = False) -> None:
    state = StateStore(paths).load()
    if name not in state.workstreams:
        raise unknown_workstream(paths.feature, name, list(state.workstreams))
    attempts = [] if setup_only else runs(paths, name)
    extra = [p for p in (paths.logs / f"{name}.setup.log", paths.logs / f"{name}.verify.log")
             if p.exists() and (not setup_only or p.name.endswith(".setup.log"))]
    if follow:
        return _follow(paths, name, raw)
    if not attempts and not extra:
        raise DispatchError(f"{name} has no logs yet: its session has not run; start it with "
                            f"'dispatch start {paths.feature}' or 'dispatch resume {name}'")
    for attempt in attempts if all_runs else attempts[-1:]:
        files = run_result.run_files(paths, name, attempt)
        _header(paths, files.stdout, f"run {attempt}")
        _stream(files.stdout, str(paths.worktree(name)), raw)
        _print(paths, files.stderr, skip_empty=True)
    for path in extra:
        _print(paths, path)
    return None


def _follow(paths: FeaturePaths, name: str, raw: bool) -> None:
    """The latest run as it happens; ends when that run has ended."""
    store = StateStore(paths)
    deadline = time.monotonic() + 30  # for a run that is about to start
    while not runs(paths, name):
        if store.load().workstreams[name].status != "pending" or time.monotonic() > deadline:
            raise DispatchError(f"{name} has no run to follow; start it with 'dispatch resume "
                                f"{name}'")
        time.sleep(POLL)
    attempt = runs(paths, name)[-1]
    files = run_result.run_files(paths, name, attempt)
    _header(paths, files.stdout, f"run {attempt}, following; Ctrl-C stops")
    follower = Follower(files.stdout, str(paths.worktree(name)))
    try:
        while True:
            ended = _ended(store, name, attempt)  # judged before the last read: no event lost
            for event in follower.events():
                _emit(event, follower.cwd, raw)
                if event.get("type") == "result":
                    return
            if ended:
                return
            time.sleep(POLL)
    except (KeyboardInterrupt, BrokenPipeError):
        return


def _ended(store: StateStore, name: str, attempt: int) -> bool:
    record = store.load().workstreams[name]
    return record.attempts != attempt or record.status not in ("running", "pending")


def _stream(path: Path, cwd: str, raw: bool) -> None:
    try:
        with files.open_regular(path) as handle:
            for line in handle:
                event = parse(line)
                if event is not None:
                    _emit(event, cwd, raw)
                elif line.strip():  # not an event (a crash's output): shown as it is
                    sys.stdout.write(visible(line.decode("utf-8", "replace").rstrip()) + "\n")
    except OSError:
        sys.stdout.write("(no output)\n")
    sys.stdout.flush()


def _emit(event: dict[str, object], cwd: str | None, raw: bool) -> None:
    import json

    if raw:
        text = [json.dumps(event, ensure_ascii=False)]
    else:
        text = transcript.lines(event, cwd)
    for line in text:
        sys.stdout.write(visible(line) + "\n")
    sys.stdout.flush()


def _header(paths: FeaturePaths, path: Path, what: str) -> None:
    sys.stdout.write(f"==> {paths.relative(path)} ({what}) <==\n")


def _print(paths: FeaturePaths, path: Path, skip_empty: bool = False) -> None:
    text = files.read_text(path) or ""
    if skip_empty and not text.strip():
        return
    out = sys.stdout
    out.write(f"==> {paths.relative(path)} <==\n")
    text = visible(text)  # a worker's output: nothing in it may steer the terminal
    out.write(text if text.endswith("\n") or not text else text + "\n")
    out.write("(empty)\n" if not text else "")
    out.flush()
