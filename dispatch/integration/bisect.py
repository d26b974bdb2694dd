"""Which merge of a batch breaks verify, found with few verify runs (pure: no git, no files).

A batch is a chain of merges on top of the integration branch: prefix 0 is the branch as it
is (known green), prefix j the branch with the first j merges. The queue that merges one at a
time keeps a merge when verify passes after it. When a break stays broken as more merges land
(deterministic tests, no later merge repairing an earlier one), that is the same as keeping
every merge before the first failing prefix, blaming that one, and going on with the rest on
top. So a green batch needs one verify, a red one a search for the pass-to-fail step: the
merged result is the one the one-at-a-time queue would give. (When a later merge does repair
an earlier one, the batch keeps both, which the one-at-a-time queue would not.)

No merge is blamed on one failure: the failure that would blame it is run again, alone,
and a test that then passes is flaky (reported as flaky, the prefix counted green, the search
going on above it). Up to `parallel` prefixes are verified at once: each round splits the
range still unknown evenly. Runs for a batch of 16 with one bad merge: 1 + 4 + 1 one at a
time, 1 + 6 + 1 two at a time in 5 rounds (the one-at-a-time queue: 16 runs, and 1 more to
confirm the failure).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

# Verify these prefixes (at once, where it can); True for each that passed.
Probe = Callable[[list[int]], dict[int, bool]]


@dataclass
class Search:
    """What the search found: `first_failing` is None when the whole batch is green."""

    first_failing: int | None
    flaky: list[int] = field(default_factory=list)  # prefixes that failed once, then passed
    runs: int = 0


def first_failing(size: int, probe: Probe, parallel: int = 2,
                  whole_failed: bool = False) -> Search:
    """The prefix (1..size) whose last merge turns verify red, or None when the batch is
    green. Its failure is seen twice in a row; the prefix before it passed.

    `whole_failed`: the caller has verified the whole batch once already and seen it fail."""
    found = Search(None)
    passed = {0}
    failed_once: set[int] = {size} if whole_failed else set()
    confirmed: set[int] = set()
    if not whole_failed:
        if _run(probe, [size], found, passed, failed_once, confirmed)[size]:
            return found
    while True:
        low = max(passed)
        failing = sorted(j for j in failed_once | confirmed if j > low)
        if not failing:  # every failure seen was flaky: the batch is green
            return found
        high = failing[0]
        if high > low + 1:
            _run(probe, _splits(low, high, parallel), found, passed, failed_once, confirmed)
        elif high in confirmed:
            found.first_failing = high
            return found
        else:  # the step from green to red is found: believe it only if it fails again
            _run(probe, [high], found, passed, failed_once, confirmed)


def _splits(low: int, high: int, count: int) -> list[int]:
    """`count` prefixes strictly between `low` and `high`, splitting the gap evenly."""
    inside = high - low - 1
    count = min(count, inside)
    return sorted({low + (high - low) * (i + 1) // (count + 1) for i in range(count)})


def _run(probe: Probe, wanted: list[int], found: Search, passed: set[int],
         failed_once: set[int], confirmed: set[int]) -> dict[int, bool]:
    results = probe(wanted)
    found.runs += len(wanted)
    for j, ok in results.items():
        if ok:
            if j in failed_once:
                found.flaky.append(j)  # failed before, passes now
                failed_once.discard(j)
            passed.add(j)
        elif j in failed_once:
            confirmed.add(j)
        else:
            failed_once.add(j)
    # A failure below a pass no longer matters: the longer prefix, which holds it, is green.
    top = max(passed)
    failed_once.difference_update([j for j in failed_once if j < top])
    confirmed.difference_update([j for j in confirmed if j < top])
    return results
