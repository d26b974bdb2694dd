"""The search for the merge that breaks verify in a batch (dispatch/integration/bisect.py)."""

from __future__ import annotations

import math
import random

import pytest

from dispatch.integration.bisect import first_failing


class Verify:
    """A verify over prefixes: red from prefix `bad` on (None: always green). A flaky one
    also fails a green prefix one run in two at random, but never twice in a row on the same
    commit: the flaky test that a second run of the same code passes."""

    def __init__(self, bad: int | None, flaky: random.Random | None = None) -> None:
        self.bad, self.flaky = bad, flaky
        self.rounds: list[list[int]] = []
        self.failed_last: set[int] = set()

    def __call__(self, prefixes: list[int]) -> dict[int, bool]:
        self.rounds.append(list(prefixes))
        results = {}
        for j in prefixes:
            ok = self.bad is None or j < self.bad
            if ok and self.flaky is not None:
                if j in self.failed_last:
                    self.failed_last.discard(j)  # the run after a failure passes
                elif self.flaky.random() < 0.5:
                    ok = False
                    self.failed_last.add(j)
            results[j] = ok
        return results


@pytest.mark.parametrize("parallel", [1, 2, 3])
@pytest.mark.parametrize("bad", [None, *range(1, 17)])
def test_finds_the_merge_that_breaks_within_the_budget(bad: int | None, parallel: int) -> None:
    verify = Verify(bad)
    found = first_failing(16, verify, parallel)
    assert found.first_failing == bad and found.flaky == []
    assert found.runs == sum(len(r) for r in verify.rounds)
    assert all(len(r) <= parallel for r in verify.rounds)
    if bad is None:
        assert verify.rounds == [[16]]  # a green batch costs one run
    else:  # the budget, less the base check and the run for the rest of the batch
        assert found.runs <= 2 * math.ceil(math.log2(16))
        assert verify.rounds[-1] == [bad]  # the blame is confirmed by a run of its own
        assert found.runs == len({j for r in verify.rounds for j in r}) + 1


def test_two_at_a_time_takes_fewer_rounds() -> None:
    worst = {p: max(len(_rounds(bad, p)) for bad in range(1, 17)) for p in (1, 2)}
    assert worst == {1: 6, 2: 5}


def _rounds(bad: int, parallel: int) -> list[list[int]]:
    verify = Verify(bad)
    first_failing(16, verify, parallel)
    return verify.rounds


@pytest.mark.parametrize("seed", range(20))
def test_a_flaky_verify_never_blames_a_merge(seed: int) -> None:
    verify = Verify(None, random.Random(seed))
    found = first_failing(16, verify, 2)
    assert found.first_failing is None
    assert all(j in {p for r in verify.rounds for p in r} for j in found.flaky)


@pytest.mark.parametrize("seed", range(20))
def test_a_flaky_verify_still_finds_the_real_break(seed: int) -> None:
    rng = random.Random(seed)
    bad = rng.randint(1, 16)
    assert first_failing(16, Verify(bad, rng), 2).first_failing == bad


def test_the_caller_may_have_seen_the_whole_batch_fail_already() -> None:
    verify = Verify(5)
    found = first_failing(16, verify, 1, whole_failed=True)
    assert found.first_failing == 5 and [16] not in verify.rounds


def test_a_failure_that_does_not_repeat_is_flaky_and_the_batch_green() -> None:
    seen: list[int] = []

    def once(prefixes: list[int]) -> dict[int, bool]:
        seen.extend(prefixes)
        return {j: len(seen) > 1 for j in prefixes}  # the very first run fails

    found = first_failing(4, once, 1)
    assert found.first_failing is None and found.flaky == [4] and seen == [4, 2, 3, 4]
