"""`dispatch attach`: a seat in a worker's session. Its headless run (if one is going) is
stopped cleanly, then the same session opens interactively — `claude --resume <id>` in its
worktree, on this terminal — for a person to look, talk and take over. While they are in
it the supervisor leaves the workstream alone; when they leave, the done check decides:
done, or stopped and resumable (`dispatch resume`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from dispatch.core.errors import DispatchError
from dispatch.sessions import client, launch
from dispatch.sessions.run import check_after_a_person
from dispatch.state.model import FeatureState, SessionRecord
from dispatch.state.paths import FeaturePaths
from dispatch.state.store import StateStore

HERE = "a person is in this session (dispatch attach)"


def attach(paths: FeaturePaths, name: str, *, window: bool) -> str:
    """Open the session here (returns when the person leaves), or in a new tmux window."""
    store = StateStore(paths)
    record = _expect_attachable(store.load(), name)
    if window:
        return _in_tmux_window(paths, name)
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise DispatchError("attach needs a terminal (the session is interactive): run it in "
                            "your own terminal, or inside tmux with --window")
    client.stop(paths, [name])
    store.set(name, status="stopped", error=HERE)
    state = store.load()
    assert state.run is not None
    argv = [*state.run.claude, "--resume", str(record.session_id)]
    code = subprocess.run(argv, cwd=paths.worktree(name), check=False,
                          env=launch.session_env(record, state.feature)).returncode
    return check_after_a_person(paths, store, name, code)


def _expect_attachable(state: FeatureState, name: str) -> SessionRecord:
    record = state.workstreams[name]
    if state.run is None or state.run.worker != "claude":
        raise DispatchError(f"{name} has no Claude session to attach to (it never ran, or the "
                            "rehearsal worker ran it)")
    if record.session_id is None or not record.session_created:
        raise DispatchError(f"{name}'s session has not started yet; wait for it (dispatch "
                            f"status) or start it with 'dispatch resume {name}'")
    if record.status == "stopped" and record.error == HERE:
        raise DispatchError(f"a person is already in {name}'s session (dispatch attach); "
                            "leave it there first")
    return record


def _in_tmux_window(paths: FeaturePaths, name: str) -> str:
    if not os.environ.get("TMUX") or shutil.which("tmux") is None:
        raise DispatchError("--window opens the session in a new tmux window: run it inside "
                            "tmux (or attach in this terminal without --window)")
    subprocess.run(["tmux", "new-window", "-n", name, "-c", str(paths.worktree(name)), "--",
                    sys.executable, "-m", "dispatch", "attach", name, "--feature",
                    paths.feature], check=True)
    return f"opened {name}'s session in the tmux window '{name}'"
