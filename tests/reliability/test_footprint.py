"""A long `status --watch` keeps a flat footprint: file descriptors, threads, children."""

from __future__ import annotations

import os
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
    fds, threads = me.num_fds(), threading.active_count()
    for _ in range(100):
        collect.snapshot(paths)
    assert (me.num_fds(), threading.active_count(), me.children()) == (fds, threads, [])


def test_watch_process_stays_flat(repo: Path, cli: Cli) -> None:
    provisioned(repo, cli)
    watcher = subprocess.Popen([sys.executable, "-m", "dispatch", "status", "--watch",
                                "--interval", "0.2"], cwd=repo, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, env={**os.environ, "TERM": "dumb"})
    try:
        process = psutil.Process(watcher.pid)
        samples = []
        for _ in range(25):
            time.sleep(0.2)
            samples.append((process.num_fds(), process.num_threads(),
                            len(process.children(recursive=True))))
        # Between refreshes the process is idle: its idle footprint must not grow. During a
        # refresh it runs at most one git per status thread (8).
        early, late = samples[2:10], samples[-8:]
        assert min(fd for fd, _, _ in late) <= min(fd for fd, _, _ in early)
        assert min(t for _, t, _ in late) <= min(t for _, t, _ in early)
        assert max(c for _, _, c in samples) <= 8
    finally:
        watcher.send_signal(signal.SIGINT)
        _, err = watcher.communicate(timeout=10)
    assert watcher.returncode == 0, err
