"""The overlap check between two workstreams' files finds exactly the pairs that comparing
every path with every other finds (it only skips the comparisons that cannot match)."""

from __future__ import annotations

import random

import pytest

from dispatch.spec.dependencies import overlapping, patterns_overlap

PARTS = ["app", "cli", "db", "x.py", "y.py", "*.py", "**", "a?c", "[ab].py"]


def _paths(chance: random.Random) -> list[str]:
    paths = []
    for _ in range(chance.randint(0, 12)):
        path = "/".join(chance.choice(PARTS) for _ in range(chance.randint(1, 3)))
        paths.append(path + ("/" if chance.random() < 0.1 else ""))
    return paths


@pytest.mark.parametrize("seed", range(200))
def test_overlapping_finds_the_pairs_patterns_overlap_finds(seed: int) -> None:
    chance = random.Random(seed)
    first, second = _paths(chance), _paths(chance)
    expected = {(a, b) for a in first for b in second if patterns_overlap(a, b)}
    assert set(overlapping(first, second)) == expected
