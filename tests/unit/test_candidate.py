"""What of a worker's branch may be merged (integration/candidate.py), on real repositories:
the answers it keeps for the life of a process are only the ones that cannot change."""

from __future__ import annotations

from pathlib import Path

from dispatch.integration import candidate
from tests.support.gitrepo import commit, git, make_repo


def test_a_branch_with_work_of_its_own_is_merged_as_it_is(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    base = git(repo, "rev-parse", "HEAD")
    tip = commit(repo, {"a.txt": "a\n"})
    assert candidate.prepare(repo, base, tip) == candidate.Candidate(tip, tip)
    assert candidate.prepare(repo, tip, base).problem is not None  # holds nothing new


def test_a_tip_not_fetched_yet_is_not_taken_for_unrelated_for_good(tmp_path: Path) -> None:
    """`git merge-base` fails alike for unrelated histories and for an object it cannot
    read yet: that answer is never kept."""
    origin = make_repo(tmp_path / "origin")
    base = git(origin, "rev-parse", "HEAD")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    tip = commit(origin, {"later.txt": "pushed later\n"})
    assert candidate.prepare(clone, base, tip).problem is not None  # not here yet
    git(clone, "fetch", "-q", "origin")
    assert candidate.prepare(clone, base, tip) == candidate.Candidate(tip, tip)


def test_working_files_it_committed_are_left_out_of_what_is_merged(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    base = git(repo, "rev-parse", "HEAD")
    tip = commit(repo, {"a.txt": "a\n", ".workstream/TASKS.md": "- [x] a\n"})
    found = candidate.prepare(repo, base, tip)
    assert found.tip == tip and found.merge_tip != tip and found.problem is None
    assert git(repo, "ls-tree", "--name-only", found.merge_tip) == "README.md\na.txt"
    assert candidate.prepare(repo, base, tip) == found  # made again alike (dated like tip)
