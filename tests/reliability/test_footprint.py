"""A long `status --watch` keeps a flat footprint: file descriptors, threads, children."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil

from dispatch.commands.status import collect
from dispatch.state.paths import FeaturePaths
from tests.support.cli import Result
from tests.support.gitrepo import commit
from tests.support.sessions import THREE

Cli = Callable[..., Result]


def provisioned(repo: Path, cli: Cli) -> FeaturePaths:
    commit(repo, {"specs/three.md": THREE})
    assert cli("start", "specs/three.md", "--no-agents").code == 0
    return FeaturePaths(repo, "three")


def test_snapshots_do_not_accumulate_resources(repo: Path, cli: Cli) -> None:
    paths = provisioned(repo, cli)
    me = psutil.Process()
    for _ in range(5):  # warm up: imports, caches
        collect.snapshot(paths)
    # (children: this worker may still have a supervisor of an earlier test's feature)
    fds, threads, children = me.num_fds(), threading.active_count(), me.children()
    for _ in range(100):
        collect.snapshot(paths)
    new_children = [child for child in me.children() if child not in children]
    assert (me.num_fds(), threading.active_count(), new_children) == (fds, threads, [])


class Frames(threading.Thread):
    """Reads what `status --watch` draws on its terminal and counts the frames it finished
    (each ends with the summary line)."""

    END = b"no supervisor"

    def __init__(self, terminal: int) -> None:
        super().__init__(daemon=True)
        self.terminal = terminal
        self.drawn = b""
        self.count = 0

    def run(self) -> None:
        while True:
            try:
                chunk = os.read(self.terminal, 65536)
            except OSError:  # the watcher closed its side
                return
            if not chunk:
                return
            self.drawn += chunk
            self.count = self.drawn.count(self.END)


def interrupted(watcher: subprocess.Popen[bytes]) -> bytes:
    """Ctrl-C, as a person ends a watch; one that does not end shows where it is stuck."""
    watcher.send_signal(signal.SIGINT)
    try:
        return watcher.communicate(timeout=30)[1]
    except subprocess.TimeoutExpired:
        watcher.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack
        raise AssertionError(f"status --watch still runs 30s after Ctrl-C:\n"
                             f"{watcher.communicate(timeout=30)[1].decode(errors='replace')}")\
            from None


def test_watch_process_stays_flat(repo: Path, cli: Cli) -> None:
    """Sampled without pause while it runs, windows counted in refreshes (not seconds): the
    idle footprint between refreshes in frames 16-20 is no larger than in frames 2-6, and
    no refresh leaves more than one git per status thread (8) running."""
    provisioned(repo, cli)
    terminal, its_side = pty.openpty()  # a terminal: it draws every refresh
    watcher = subprocess.Popen([sys.executable, "-X", "faulthandler", "-m", "dispatch",
                                "status", "--watch", "--interval", "0.2"], cwd=repo,
                               stdin=subprocess.DEVNULL,
                               stdout=its_side, stderr=subprocess.PIPE,
                               env={**os.environ, "TERM": "xterm"})
    os.close(its_side)
    frames = Frames(terminal)
    frames.start()
    samples: list[tuple[int, int, int, int]] = []  # frame, fds, threads, children
    try:
        process = psutil.Process(watcher.pid)
        deadline = time.monotonic() + 120  # a backstop against a hang, not a measure
        while frames.count < 20:
            assert watcher.poll() is None and time.monotonic() < deadline, frames.drawn[-500:]
            samples.append((frames.count, process.num_fds(), process.num_threads(),
                            len(process.children(recursive=True))))
            time.sleep(0.002)
    finally:
        err = interrupted(watcher)
        frames.join(10)
        os.close(terminal)
    assert watcher.returncode == 0, err
    early = [s for s in samples if 2 <= s[0] <= 6]
    late = [s for s in samples if 16 <= s[0] < 20]
    assert early and late, samples
    assert min(fd for _, fd, _, _ in late) <= min(fd for _, fd, _, _ in early)
    assert min(t for _, _, t, _ in late) <= min(t for _, _, t, _ in early)
    assert max(c for _, _, _, c in samples) <= 8
