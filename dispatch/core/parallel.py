"""A small thread map for I/O-bound work (git subprocesses).

Not concurrent.futures: importing it pulls in `logging`, which alone costs more than a
`git status`, and `dispatch status` is judged by its start-up time.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def parallel_map(function: Callable[[T], R], items: Sequence[T], threads: int) -> list[R]:
    """`[function(item) for item in items]`, `threads` at a time; re-raises the first error."""
    results: list[R | None] = [None] * len(items)
    errors: list[BaseException] = []
    pending = iter(range(len(items)))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                index = next(pending, None)
            if index is None or errors:
                return
            try:
                results[index] = function(items[index])
            except BaseException as exc:
                errors.append(exc)

    workers = [threading.Thread(target=work, daemon=True)
               for _ in range(max(1, min(threads, len(items))))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if errors:
        raise errors[0]
    return results  # type: ignore[return-value]
