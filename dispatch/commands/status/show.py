"""Showing status once, refreshed in place (`--watch`), or until the sessions end (`--wait`)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from dispatch.commands.status import collect
from dispatch.core import ui
from dispatch.state.paths import FeaturePaths

if TYPE_CHECKING:
    from dispatch.sessions.client import Supervision
from dispatch.commands.status.view import status_json, status_table

GIT_THREADS = 8  # git status is I/O bound: more threads than cores


def print_status(paths: FeaturePaths, *, as_json: bool, verbose: bool = False) -> collect.Snapshot:
    snap = collect.snapshot(paths, GIT_THREADS)
    if as_json:
        ui.print_json(status_json(snap))
    else:
        ui.out().print(status_table(snap, verbose))
    return snap


def watch(paths: FeaturePaths, interval: float, verbose: bool = False) -> None:
    """Refresh in place until Ctrl-C. Each refresh's threads and git processes end before
    the next one starts: the footprint stays flat however long it runs."""
    from rich.live import Live

    with Live(console=ui.out(), auto_refresh=False) as live:
        try:
            while True:
                live.update(status_table(collect.snapshot(paths, GIT_THREADS), verbose),
                            refresh=True)
                time.sleep(interval)
        except KeyboardInterrupt:
            return


def follow_until_done(supervision: Supervision, *, as_json: bool) -> int:
    """`start --wait`: show progress until the supervisor is done; 0 if all are done."""
    from rich.live import Live

    from dispatch.sessions.client import wait_finished

    paths = supervision.paths
    if ui.out().is_terminal and not as_json:
        with Live(console=ui.out(), auto_refresh=False) as live:
            wait_finished(supervision, lambda _state: live.update(
                status_table(collect.snapshot(paths, GIT_THREADS)), refresh=True))
    else:
        wait_finished(supervision, lambda _state: None)
    snap = collect.snapshot(paths, GIT_THREADS)
    if as_json:
        ui.print_json(status_json(snap))
    else:
        ui.out().print(status_table(snap))
    statuses = {r["status"] for r in snap.records}
    return 0 if statuses == {"done"} else 1


def command(feature: str | None, *, as_json: bool, watch_: bool, interval: float,
            verbose: bool) -> int:
    """`dispatch status` (shared by the Typer command and the fast path in cli/fast.py)."""
    from pathlib import Path

    from dispatch.gitops import repository
    from dispatch.state.paths import features, pick_feature

    root = repository.find(Path.cwd()).root
    known = features(root)
    if feature is None and len(known) > 1:
        if as_json:
            ui.print_json({"features": known})
        else:
            ui.say("Several features; pick one: " + ", ".join(
                f"dispatch status {name}" for name in known))
        return 0
    paths = FeaturePaths(root, pick_feature(root, feature))
    if watch_ and not as_json:
        watch(paths, interval, verbose)
    else:
        print_status(paths, as_json=as_json, verbose=verbose)
    return 0
