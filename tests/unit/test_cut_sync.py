"""A dependency sync killed half-way through its fast-forward (a supervisor killed while it
brought a dependency in) leaves that dependency's files in the dependant's worktree, its
branch where it was, and git's index.lock. The next sync takes exactly those back and merges
again; anything else in the worktree is someone's work and stops it, untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatch.sessions.depsync import merge_dependencies
from tests.support.gitrepo import commit, git, make_repo, write


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    found = make_repo(tmp_path / "repo", {"README.md": "# p\n", "src/app.py": "A = 1\n"})
    git(found, "branch", "x/docs")
    git(found, "switch", "-q", "-c", "x/api")
    commit(found, {"work/api.txt": "api\n", "src/app.py": "A = 2\n"}, "api: work")
    git(found, "switch", "-q", "main")
    git(found, "worktree", "add", "-q", str(found / "docs"), "x/docs")
    return found


def cut_short(docs: Path) -> None:
    """What `git merge --ff-only x/api` leaves when killed after writing the files."""
    write(docs, {"work/api.txt": "api\n", "src/app.py": "A = 2\n"})
    (Path(git(docs, "rev-parse", "--absolute-git-dir")) / "index.lock").write_text("")


def test_the_leftovers_of_a_cut_fast_forward_are_taken_back(repo: Path) -> None:
    docs = repo / "docs"
    base = git(repo, "rev-parse", "main")
    cut_short(docs)
    synced = merge_dependencies(docs, "x/docs", base, [("api", "x/api")])
    assert (synced.merged, synced.dirty, synced.problem) == (["api"], [], None)
    assert git(docs, "rev-parse", "HEAD") == git(repo, "rev-parse", "x/api")
    assert git(docs, "status", "--porcelain") == ""


def test_someones_own_change_beside_them_stops_the_sync_untouched(repo: Path) -> None:
    docs = repo / "docs"
    base = git(repo, "rev-parse", "main")
    cut_short(docs)
    write(docs, {"src/app.py": "A = 'my own edit'\n"})  # not what x/api holds there
    synced = merge_dependencies(docs, "x/docs", base, [("api", "x/api")])
    assert (synced.merged, sorted(synced.dirty)) == ([], ["src/app.py", "work/api.txt"])
    assert (docs / "src/app.py").read_text() == "A = 'my own edit'\n"
    assert (docs / "work/api.txt").read_text() == "api\n"


def test_a_new_file_of_its_own_is_never_taken_for_a_leftover(repo: Path) -> None:
    docs = repo / "docs"
    base = git(repo, "rev-parse", "main")
    write(docs, {"work/notes.txt": "mine\n"})
    synced = merge_dependencies(docs, "x/docs", base, [("api", "x/api")])
    assert (synced.merged, synced.dirty) == ([], ["work/notes.txt"])
    assert (docs / "work/notes.txt").read_text() == "mine\n"


def test_a_cut_fast_forward_to_a_merge_of_its_own_work_is_taken_back(repo: Path) -> None:
    docs = repo / "docs"
    base = git(repo, "rev-parse", "main")
    own = commit(docs, {"docs/guide.md": "guide\n"}, "docs: its own work first")
    cut_short(docs)  # the merge's files: api's beside its own
    synced = merge_dependencies(docs, "x/docs", base, [("api", "x/api")])
    assert (synced.merged, synced.dirty, synced.problem) == (["api"], [], None)
    assert git(docs, "rev-parse", "HEAD^1") == own
    assert (docs / "docs/guide.md").read_text() == "guide\n"
    assert (docs / "work/api.txt").read_text() == "api\n"


def test_a_file_a_clean_filter_would_make_look_like_the_target_is_kept(repo: Path) -> None:
    """Compared byte for byte: the person's outputs in a notebook that a filter strips before
    git sees it are not the dependency's file, whatever `git hash-object` says."""
    docs = repo / "docs"
    base = git(repo, "rev-parse", "main")
    git(repo, "config", "filter.strip.clean", "sed '/^OUTPUT/d'")
    git(repo, "config", "filter.strip.smudge", "cat")
    info = Path(git(docs, "rev-parse", "--git-common-dir")) / "info"
    info.mkdir(exist_ok=True)
    (info / "attributes").write_text("*.txt filter=strip\n")
    write(docs, {"work/api.txt": "api\nOUTPUT: three hours of results\n"})
    synced = merge_dependencies(docs, "x/docs", base, [("api", "x/api")])
    assert (synced.merged, synced.dirty) == ([], ["work/api.txt"])
    assert (docs / "work/api.txt").read_text() == "api\nOUTPUT: three hours of results\n"


def test_staged_work_and_a_changed_mode_beside_the_leftovers_stop_it(repo: Path) -> None:
    docs = repo / "docs"
    base = git(repo, "rev-parse", "main")
    write(docs, {"README.md": "# staged by someone\n"})
    git(docs, "add", "README.md")
    write(docs, {"README.md": "# p\n"})  # its file as HEAD has it; the index holds the work
    cut_short(docs)
    synced = merge_dependencies(docs, "x/docs", base, [("api", "x/api")])
    assert synced.merged == [] and "README.md" in synced.dirty
    assert git(docs, "show", ":README.md") == "# staged by someone"


def test_a_changed_mode_beside_the_leftovers_stops_it(repo: Path) -> None:
    docs = repo / "docs"
    base = git(repo, "rev-parse", "main")
    cut_short(docs)
    (docs / "README.md").chmod(0o755)  # a setup's `chmod +x`: not what the checkout did
    synced = merge_dependencies(docs, "x/docs", base, [("api", "x/api")])
    assert synced.merged == [] and "README.md" in synced.dirty
    assert (docs / "README.md").stat().st_mode & 0o100
