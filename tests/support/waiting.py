"""Waiting for something to become true, without guessing how long it takes."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_for(ready: Callable[[], object], what: str, timeout: float = 60.0,
             poll: float = 0.01) -> None:
    """Poll `ready` until it is true. `timeout` is only a backstop against a hang (a failure
    that names `what`), never part of what a test proves."""
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} (waited {timeout:.0f}s)")
        time.sleep(poll)
