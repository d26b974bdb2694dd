"""Problems the campaign finds that a regression test in
tests/reliability/test_misbehaving_regressions.py already reproduces: a trial whose every
problem is one of these is an expected failure (xfail, naming the tests), any other problem
fails it. When dispatch is fixed, the trials pass again; drop the entry with the xfail mark.
"""

from __future__ import annotations

import re

KNOWN_BUGS: dict[str, str] = {  # regression test -> what the campaign's problem says
}


def explain(problems: list[str]) -> dict[str, str]:
    """problem -> the regression test that reproduces it, for the problems known."""
    found = {}
    for problem in problems:
        for test, pattern in KNOWN_BUGS.items():
            if re.search(pattern, problem):
                found[problem] = test
                break
    return found
