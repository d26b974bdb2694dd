"""Inter-process locks on files, with the holder's pid written inside.

`flock` locks belong to an open file: the kernel drops them when their process dies, so a
lock left by a process killed with SIGKILL never blocks the next run (nothing to clean up).
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from types import TracebackType

from dispatch.core.errors import BusyError, DispatchError
from dispatch.core.files import read_text


class FileLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self, timeout: float | None = None) -> bool:
        """Take the lock; wait at most `timeout` seconds (None: forever, 0: try once)."""
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this object")
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise DispatchError(f"cannot create the lock file {self.path} ({exc.strerror}); "
                                "make its folder writable") from None
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.002
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            # An empty file means "no holder": a probe never reads a released holder's pid.
            # Closing drops the lock; the file stays (unlinking would race with a waiter).
            os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def still_here(self) -> bool:
        """Whether the file at `path` is still the one this lock holds, naming this process
        (anyone who can write the folder can delete the file or write another pid in it)."""
        if self._fd is None:
            return False
        try:
            ours, there = os.fstat(self._fd), self.path.stat()
        except OSError:
            return False
        if (ours.st_dev, ours.st_ino) != (there.st_dev, there.st_ino):
            return False
        if os.pread(self._fd, 32, 0) != f"{os.getpid()}\n".encode():
            os.ftruncate(self._fd, 0)  # the lock is ours: only its label was changed
            os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)
        return True

    def holder(self) -> int | None:
        """The pid written by the current (or last) holder, if any."""
        try:
            text = (read_text(self.path, 32) or "").strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def __enter__(self) -> FileLock:
        if not self.held:  # `try_lock` hands over a lock it already took
            self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()


def holder_if_locked(path: Path, patience: float = 1.0) -> int | None:
    """The pid holding the lock at `path` right now, or None when nobody holds it.

    A process writes its pid just after it takes the lock: a probe that finds the lock held
    and no pid yet waits for it, at most `patience` seconds. A holder that never writes one
    (stopped in that instant) cannot be named or signalled, and is reported as None.

    The probe takes the lock for an instant and writes nothing; a process that tries the
    lock in that instant must retry for a moment (see Supervisor.run)."""
    deadline = time.monotonic() + patience
    while True:
        if not is_held(path):
            return None
        pid = FileLock(path).holder()
        if pid is not None or time.monotonic() >= deadline:
            return pid
        time.sleep(0.01)


def is_held(path: Path) -> bool:
    """Whether some process holds the lock at `path` right now."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def try_lock(path: Path, what: str, fix: str) -> FileLock:
    """Take the lock at once, or raise BusyError "<what> (pid N); <fix>"."""
    lock = FileLock(path)
    if not lock.acquire(timeout=0):
        pid = lock.holder()
        raise BusyError(f"{what}{f' (pid {pid})' if pid else ''}; {fix}")
    return lock
