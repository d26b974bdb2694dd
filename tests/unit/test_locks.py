"""A lock file sits where workers can write: its holder notices when the file is deleted,
replaced, or relabelled with another pid, and a probe never blocks on a pipe put there."""

from __future__ import annotations

import os
from pathlib import Path

from dispatch.state.locks import FileLock, holder_if_locked, is_held


def test_the_holder_notices_a_deleted_or_replaced_file(tmp_path: Path) -> None:
    path = tmp_path / ".supervisor.lock"
    lock = FileLock(path)
    assert lock.acquire(timeout=0) and lock.still_here()
    path.unlink()
    assert not lock.still_here() and not is_held(path)
    path.write_text("")
    assert not lock.still_here()  # another file now: whoever locks it is not blocked
    fresh = FileLock(path)
    assert fresh.acquire(timeout=0) and fresh.still_here()
    lock.release()
    fresh.release()


def test_a_pid_written_over_the_holders_is_put_back(tmp_path: Path) -> None:
    path = tmp_path / ".supervisor.lock"
    lock = FileLock(path)
    assert lock.acquire(timeout=0)
    path.write_text("1\n")  # a worker's decoy
    assert holder_if_locked(path) == 1
    assert lock.still_here()
    assert holder_if_locked(path) == os.getpid()
    lock.release()


def test_a_pipe_in_place_of_the_lock_does_not_block_a_probe(tmp_path: Path) -> None:
    path = tmp_path / ".supervisor.lock"
    os.mkfifo(path)
    assert not is_held(path)
    assert holder_if_locked(path) is None
