"""Misbehaviours with processes: children left running (in the run's group, in a session of
their own, as a daemon, committing later), runs that hang (or ignore SIGTERM), and a worker
turning on its supervisor (killing it, deleting or forging its lock file)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable

import psutil

from tests.support.misbehaving_worker import Reply, Worker


def _spawn(argv: list[str], *, own_session: bool) -> int:
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=own_session).pid


def background_setsid(w: Worker) -> Reply | None:
    """A child in a session of its own, still running when the run ends."""
    w.work()
    w.children.append(_spawn(["sleep", "600"], own_session=True))
    return None


def background_nohup(w: Worker) -> Reply | None:
    """A child left in the run's own process group (`nohup cmd &`)."""
    w.work()
    w.children.append(_spawn(["nohup", "sleep", "600"], own_session=False))
    return None


def daemon_double_fork(w: Worker) -> Reply | None:
    """A daemon: forked twice, so it is nobody's descendant once the shell exits."""
    w.work()
    out = subprocess.run(["sh", "-c", "setsid sleep 600 >/dev/null 2>&1 & echo $!"],
                         capture_output=True, text=True, check=False).stdout.strip()
    if out.isdigit():
        w.children.append(int(out))
    return None


def hang(w: Worker) -> Reply:
    w.work()
    return Reply(hang=True)


def hang_ignoring_term(w: Worker) -> Reply:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    w.work()
    return Reply(hang=True)


def hang_with_children(w: Worker) -> Reply:
    w.work()
    w.children.append(_spawn(["sleep", "600"], own_session=True))
    w.children.append(_spawn(["sleep", "600"], own_session=False))
    return Reply(hang=True)


def _signal_supervisor(signum: int) -> None:
    try:
        parent = psutil.Process(os.getppid())
        if "dispatch.sessions.supervisor" in parent.cmdline():
            parent.send_signal(signum)
    except psutil.Error:
        pass


def kill_supervisor(w: Worker) -> Reply | None:
    w.work()
    _signal_supervisor(signal.SIGKILL)
    return None


def term_supervisor(w: Worker) -> Reply | None:
    w.work()
    _signal_supervisor(signal.SIGTERM)
    return None


def lie_in_supervisor_lock(w: Worker) -> Reply:
    """Writes another process's pid (the plan's `decoy`) into the supervisor's lock file,
    which the supervisor still holds, and hangs: whoever stops "the supervisor" now
    signals that process."""
    w.work()
    decoy = w.extra.get("decoy", os.getpid())  # never a pid of nothing (0: one's own group)
    (w.feature_dir / ".supervisor.lock").write_text(f"{decoy}\n")
    return Reply(hang=True)


def delete_locks(w: Worker) -> Reply | None:
    """Removes "stale" lock files, as sessions do with index.lock: dispatch's own too."""
    w.work()
    for lock in w.feature_dir.glob(".*.lock"):
        lock.unlink(missing_ok=True)
    return None


def delete_locks_and_hang(w: Worker) -> Reply:
    """delete_locks, then it keeps running (and so does the supervisor, whose lock file is
    gone). Not in the campaign: nothing there runs beside a live supervisor."""
    delete_locks(w)
    return Reply(hang=True)


def late_commit(w: Worker) -> Reply | None:
    """Ends with success while a child of its own commits more a moment later: during the
    done check, integration or clean (tests/support/late_committer.py)."""
    w.work()
    _commit_later(w, "1.5")
    return None


def commit_during_clean(w: Worker) -> Reply | None:
    """Like late_commit, but its child waits until `dispatch clean` is at work (it has
    archived a workstream's TASKS.md, or told the child to stop) before it commits. Not in
    the campaign: the regression test needs that moment on purpose."""
    w.work()
    _commit_later(w, "60", str(w.root / ".worktrees"), ".archive/*/workstreams/*/TASKS.md")
    return None


def _commit_later(w: Worker, *args: str) -> None:
    subprocess.Popen([sys.executable, "-m", "tests.support.late_committer", str(w.state),
                      w.ws, *args], cwd=w.home, stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True)


BEHAVIOURS: dict[str, Callable[[Worker], Reply | None]] = {
    "background_setsid": background_setsid,
    "background_nohup": background_nohup,
    "daemon_double_fork": daemon_double_fork,
    "hang": hang,
    "hang_ignoring_term": hang_ignoring_term,
    "hang_with_children": hang_with_children,
    "kill_supervisor": kill_supervisor,
    "term_supervisor": term_supervisor,
    "delete_locks": delete_locks,
    "late_commit": late_commit,
}
# Kept out of the campaign (see misbehaviours/__init__.py).
SPECIAL: dict[str, Callable[[Worker], Reply | None]] = {
    "lie_in_supervisor_lock": lie_in_supervisor_lock,
    "delete_locks_and_hang": delete_locks_and_hang,
    "commit_during_clean": commit_during_clean,
}
