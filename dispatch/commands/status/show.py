"""Showing status once, refreshed in place (`--watch`), or until the sessions end (`--wait`)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from dispatch.commands.status import collect
from dispatch.commands.status.view import status_json, status_table
from dispatch.core import ui
from dispatch.core.errors import DispatchError
from dispatch.core.table import Format, render
from dispatch.state.paths import FeaturePaths

if TYPE_CHECKING:
    from rich.console import RenderableType

    from dispatch.sessions.client import Supervision

GIT_THREADS = 8  # git status is I/O bound: more threads than cores


def print_status(paths: FeaturePaths, *, fmt: Format | None, verbose: bool = False
                 ) -> collect.Snapshot:
    """`fmt` None: JSON."""
    snap = collect.snapshot(paths, GIT_THREADS)
    if fmt is None:
        ui.print_json(status_json(snap))
    else:
        ui.show(status_table(snap, verbose), fmt)
    return snap


def _live_view(paths: FeaturePaths, verbose: bool) -> RenderableType:
    """The table for a refreshing terminal view: fits its width and height (every row and
    the totals stay on the screen; notes shrink to one line)."""
    width, height = ui.terminal_size()
    return render(status_table(collect.snapshot(paths, GIT_THREADS), verbose), "rich", width,
                  height)


def watch(paths: FeaturePaths, interval: float, verbose: bool = False) -> None:
    """Refresh in place until Ctrl-C. Each refresh's threads and git processes end before
    the next one starts: the footprint stays flat however long it runs."""
    from rich.live import Live

    with Live(console=ui.out(), auto_refresh=False) as live:
        try:
            while True:
                live.update(_live_view(paths, verbose), refresh=True)
                time.sleep(interval)
        except KeyboardInterrupt:
            return


def follow_until_done(supervision: Supervision, *, fmt: Format | None) -> int:
    """`start --wait`: show progress until the supervisor is done; 0 if all are done."""
    from rich.live import Live

    from dispatch.sessions.client import wait_finished

    paths = supervision.paths
    if fmt == "rich" and ui.out().is_terminal:
        with Live(console=ui.out(), auto_refresh=False) as live:
            wait_finished(supervision, lambda _state: live.update(
                _live_view(paths, verbose=False), refresh=True))
    else:
        wait_finished(supervision, lambda _state: None)
    snap = print_status(paths, fmt=fmt)
    statuses = {r["status"] for r in snap.records}
    return 0 if statuses == {"done"} else 1


def command(feature: str | None, *, as_json: bool, watch_: bool, interval: float,
            verbose: bool, fmt: str | None = None) -> int:
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
    chosen = None if as_json else ui.choose_format(fmt)
    if watch_ and chosen == "rich":
        watch(paths, interval, verbose)
    elif watch_ and chosen is not None:
        raise DispatchError("--watch refreshes a terminal in place; off a terminal run "
                            "'dispatch status' when you want to look (or use --format rich)")
    else:
        print_status(paths, fmt=chosen, verbose=verbose)
    return 0
