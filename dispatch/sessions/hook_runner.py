"""Delivers the feature's events to the user's hook, one at a time and in order.

The supervisor only appends events to `logs/events.jsonl` and makes sure one of these runs
(`python -m dispatch.sessions.hook_runner <root> <feature>`, detached, under a lock): it
feeds each new event to the hook on stdin, waits at most HOOK_TIMEOUT for it, logs what it
said to `logs/hooks.log`, remembers how far it got (`logs/hooks.offset`), and exits once it
has caught up. A hook that hangs or fails delays only the events after it, never a session,
the supervisor or `start --wait`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from dispatch.core import files
from dispatch.state.locks import FileLock
from dispatch.state.paths import FeaturePaths
from dispatch.state.store import write_atomic

HOOK_TIMEOUT = 30


def ensure(paths: FeaturePaths) -> None:
    """Start a runner unless one is delivering already (it reads on until caught up)."""
    log = paths.logs / "hooks.log"
    with log.open("ab") as out:
        subprocess.Popen([sys.executable, "-m", "dispatch.sessions.hook_runner",
                          str(paths.root), paths.feature], cwd=paths.root,
                         stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                         start_new_session=True, close_fds=True)


def run(paths: FeaturePaths) -> None:
    lock = FileLock(paths.logs / ".hooks.lock")
    while lock.acquire(timeout=0):
        try:
            _deliver(paths)
        finally:
            lock.release()
        if _offset(paths) >= _size(paths.logs / "events.jsonl"):
            return  # caught up (an event appended after the release starts its own runner)


def _deliver(paths: FeaturePaths) -> None:
    events = paths.logs / "events.jsonl"
    command = _command(paths)
    with files.open_regular(events) as handle:
        handle.seek(_offset(paths))
        for line in handle:
            if not line.endswith(b"\n"):
                return  # being written: the next runner takes it
            if command and line.strip():
                _hook(paths, command, line)
            write_atomic(paths.logs / "hooks.offset", str(handle.tell()))


def _hook(paths: FeaturePaths, command: str, event: bytes) -> None:
    with files.open_log(paths.logs / "hooks.log") as log:
        log.write(b"$ " + command.encode() + b"  <- " + event)
        log.flush()
        try:
            done = subprocess.run(["/bin/sh", "-c", command], cwd=paths.root, input=event,
                                  stdout=log, stderr=log, timeout=HOOK_TIMEOUT,
                                  start_new_session=True, check=False)
            if done.returncode != 0:
                log.write(f"[dispatch] the hook exited {done.returncode}\n".encode())
        except subprocess.TimeoutExpired:
            log.write(f"[dispatch] the hook ran over {HOOK_TIMEOUT}s and was stopped\n".encode())
        except OSError as exc:
            log.write(f"[dispatch] the hook could not run: {exc}\n".encode())


def _command(paths: FeaturePaths) -> str | None:
    try:
        state = json.loads(files.read_text(paths.state_file) or "{}")
        command = (state.get("run") or {}).get("on_event")
    except (OSError, ValueError, AttributeError):
        return None
    return command if isinstance(command, str) and command.strip() else None


def _offset(paths: FeaturePaths) -> int:
    try:
        return int((files.read_text(paths.logs / "hooks.offset") or "0").strip() or 0)
    except (OSError, ValueError):
        return 0


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


if __name__ == "__main__":
    run(FeaturePaths(Path(sys.argv[1]), sys.argv[2]))
