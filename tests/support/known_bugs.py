"""Problems the campaign finds that a regression test in
tests/reliability/test_misbehaving_regressions.py already reproduces: a trial whose every
problem is one of these is an expected failure (xfail, naming the tests), any other problem
fails it. When dispatch is fixed, the trials pass again; drop the entry with the xfail mark.
"""

from __future__ import annotations

import re

KNOWN_BUGS: dict[str, str] = {  # regression test -> what the campaign's problem says
    "test_clean_keeps_the_branch_of_a_worktree_it_keeps":
        r"^clean failed half-way \(.*Cannot delete branch .* checked out at",
    "test_clean_does_not_stop_half_way_on_a_committed_workstream_link":
        r"^clean failed half-way \(.*\.workstream is a symlink or a file",
    "test_clean_keeps_a_workers_notes_in_its_workstream_folder":
        r"^a worker's file \S*/\.workstream/\S+ is gone",
    "test_clean_survives_a_fifo_in_logs": r"^clean: exit 70 \(.*is a named pipe",
    "test_a_child_left_in_the_runs_group_does_not_outlive_clean":
        r"^process left: .* left in its run's process group",
    "test_clean_does_not_delete_a_branch_that_moved_after_its_check":
        r"^lost \w+'s late commit",
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
