"""sessions.json: atomic replace, locked read-modify-write, schema version, damage."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from dispatch.core.errors import DispatchError
from dispatch.state.locks import FileLock
from dispatch.state.model import FeatureState, SessionRecord
from dispatch.state.paths import FeaturePaths
from dispatch.state.plan import Plan, Workstream
from dispatch.state.store import StateStore

NAMES = [f"ws{i}" for i in range(8)]


def make_store(root: Path) -> StateStore:
    paths = FeaturePaths(root, "feat")
    paths.dir.mkdir(parents=True)
    plan = Plan(feature="feat", title="t", spec="s.md", workstreams=[
        Workstream(name=n, title=n, number=i, goal="g", line=1, raw="")
        for i, n in enumerate(NAMES, 1)])
    store = StateStore(paths)
    store.create(FeatureState(feature="feat", base="0" * 40, plan=plan, workstreams={
        n: SessionRecord(name=n, branch=f"feat/{n}", path=f".worktrees/feat/{n}")
        for n in NAMES}))
    return store


def bump(root: str, name: str, least: int, stop: Any, done: Any) -> None:
    """Update the state at least `least` times and until `stop`; count them in `done`."""
    store = StateStore(FeaturePaths(Path(root), "feat"))

    def change(state: FeatureState) -> None:
        state.workstreams[name].num_turns += 1
        state.workstreams["ws0"].attempts += 1  # every process also touches one record

    while done.value < least or not stop.is_set():
        store.update(change)
        done.value += 1


def read(path: str, stop: Any, reads: Any, versions: Any, torn: Any, missing: Any) -> None:
    """Parse the file over and over: count the reads, the versions seen (a new ws0.attempts)
    and the reads that failed."""
    last = None
    while not stop.is_set():
        try:
            text = Path(path).read_text()
        except OSError:
            missing.value += 1
            continue
        try:
            attempts = json.loads(text)["workstreams"]["ws0"]["attempts"]
        except ValueError:
            torn.value += 1
            continue
        reads.value += 1
        if attempts != last:
            versions.value += 1
            last = attempts


def wait_until(ready: Any, what: str) -> None:
    deadline = time.monotonic() + 120  # a backstop against a hang, not a measure
    while not ready():
        assert time.monotonic() < deadline, what
        time.sleep(0.005)


def test_concurrent_updates_lose_nothing_and_readers_never_see_a_torn_file(
        tmp_path: Path) -> None:
    """Eight processes update sessions.json while a ninth parses it in a loop. The writers
    keep going until the reader has seen many versions come and go, so the reads surely
    overlapped the writes, however the machine schedules the processes."""
    store = make_store(tmp_path)
    context = multiprocessing.get_context("spawn")
    reads, versions, torn, missing = (context.Value("i", 0) for _ in range(4))
    stop_writers, stop_reader = context.Event(), context.Event()
    reader = context.Process(target=read, args=(
        str(store.paths.state_file), stop_reader, reads, versions, torn, missing))
    reader.start()
    wait_until(lambda: reads.value > 0, "the reader never read the file")
    done = {name: context.Value("i", 0) for name in NAMES}
    writers = [context.Process(target=bump, args=(str(tmp_path), name, 15, stop_writers,
                                                  done[name])) for name in NAMES]
    for writer in writers:
        writer.start()
    wait_until(lambda: versions.value > 50 or not any(w.is_alive() for w in writers),
               "the reader saw no new versions")
    stop_writers.set()
    for writer in writers:
        writer.join(60)
        assert writer.exitcode == 0
    stop_reader.set()
    reader.join(60)
    assert reader.exitcode == 0
    state = store.load()
    counts = {name: value.value for name, value in done.items()}
    assert min(counts.values()) >= 15
    assert {n: r.num_turns for n, r in state.workstreams.items()} == counts
    assert state.workstreams["ws0"].attempts == sum(counts.values())
    assert (torn.value, missing.value) == (0, 0)
    assert versions.value > 50 and reads.value >= versions.value
    assert not list(store.paths.dir.glob(".sessions.json.*.tmp"))


def test_a_lock_held_by_a_killed_process_is_taken_over(tmp_path: Path) -> None:
    lock_path = tmp_path / ".x.lock"
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from dispatch.state.locks import FileLock; "
        f"FileLock(Path({str(lock_path)!r})).acquire(); print('held', flush=True); "
        "time.sleep(60)")], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    lock = FileLock(lock_path)
    assert not lock.acquire(timeout=0) and lock.holder() == holder.pid
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert lock.acquire(timeout=1)
    assert lock.holder() == os.getpid()
    lock.release()


def test_an_update_that_changes_nothing_writes_nothing(tmp_path: Path) -> None:
    store = make_store(tmp_path)
    before = store.paths.state_file.stat().st_mtime_ns
    store.update(lambda _state: None)
    assert store.paths.state_file.stat().st_mtime_ns == before


@pytest.mark.parametrize(("content", "reason"), [
    ("{not json", "Expecting property name enclosed in double quotes"),
    ('{"schema_version": 99}', "schema_version 99"),
    ('{"schema_version": 1, "feature": 3}', "ValidationError"),
])
def test_damaged_state_says_how_to_rebuild(tmp_path: Path, content: str, reason: str) -> None:
    store = make_store(tmp_path)
    store.paths.state_file.write_text(content)
    with pytest.raises(DispatchError) as caught:
        store.load()
    assert caught.value.message.startswith(f".worktrees/feat/sessions.json is damaged ({reason}")
    assert caught.value.message.endswith(
        "rebuild it from git and the logs with 'dispatch repair feat'")
