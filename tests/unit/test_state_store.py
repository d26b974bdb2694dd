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


def bump(root: str, name: str, times: int) -> None:
    store = StateStore(FeaturePaths(Path(root), "feat"))
    for _ in range(times):
        def change(state: FeatureState) -> None:
            state.workstreams[name].num_turns += 1
            state.workstreams["ws0"].attempts += 1  # every process also touches one record
        store.update(change)


def read_forever(path: str, stop_at: float, torn: Any) -> None:
    while time.monotonic() < stop_at:
        try:
            json.loads(Path(path).read_text())
        except ValueError:
            torn.value += 1


def test_concurrent_updates_lose_nothing_and_readers_never_see_a_torn_file(
        tmp_path: Path) -> None:
    store = make_store(tmp_path)
    context = multiprocessing.get_context("spawn")
    torn = context.Value("i", 0)
    reader = context.Process(target=read_forever, args=(
        str(store.paths.state_file), time.monotonic() + 60, torn))
    reader.start()
    writers = [context.Process(target=bump, args=(str(tmp_path), name, 15)) for name in NAMES]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(60)
        assert writer.exitcode == 0
    reader.kill()
    state = store.load()
    assert {n: r.num_turns for n, r in state.workstreams.items()} == dict.fromkeys(NAMES, 15)
    assert state.workstreams["ws0"].attempts == 8 * 15
    assert torn.value == 0
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
