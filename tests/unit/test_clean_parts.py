"""The parts of `dispatch clean`: its decisions as tables (clean_rules.py: pure functions of
what was found), and the parts it acts with, each against the real thing (a git repository,
the file system, live processes): compare-and-delete of a branch, archiving that never opens
a named pipe nor follows a link, and finding the processes a run left in a folder."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from dispatch.commands import clean_archive, clean_rules
from dispatch.commands.clean_rules import WorktreeFacts
from dispatch.core import strays
from dispatch.gitops import refs
from tests.support.gitrepo import commit, git

OWN = {"sessions.json", "logs", "INTEGRATION.md", "api"}


@pytest.mark.parametrize(("name", "is_worktree", "expected"), [
    ("sessions.json", False, "own"),
    ("api", False, "own"),  # a workstream's worktree folder (checked on its own)
    ("api", True, "own"),
    (".start.lock", False, "own"),
    (".sessions.json.x1y2.tmp", False, "own"),
    ("sessions.json.damaged-20260101", False, "own"),
    (".verify", False, "scratch"),
    (".verify", True, "worktree"),  # someone's `git worktree add .verify`
    ("experiment", True, "worktree"),
    ("INTEGRATION.20261130-081500.md", False, "archive"),  # a report integrate kept aside
    ("NOTES.md", False, "archive"),
    (".start.lock.evil", False, "archive"),
    ("sessions.json.tmp", False, "archive"),
])
def test_what_an_entry_of_the_feature_folder_is(name: str, is_worktree: bool,
                                                 expected: str) -> None:
    assert clean_rules.feature_entry(name, OWN, ".verify", is_worktree=is_worktree) == expected


HEAD = "a" * 40


@pytest.mark.parametrize(("facts", "expected"), [
    (WorktreeFacts(), None),
    (WorktreeFacts(branch="f/api", head=HEAD), None),
    (WorktreeFacts(locked=True, dirty=("x",)), "it is locked ('git worktree unlock' it first)"),
    (WorktreeFacts(unreadable="fatal: not a git repository"),
     "git cannot read it (fatal: not a git repository)"),
    (WorktreeFacts(dirty=("a.txt", "b.txt", "c.txt", "d.txt")),
     "4 uncommitted or untracked file(s) (a.txt, b.txt, c.txt): commit them"),
    (WorktreeFacts(branch="f/api", head=HEAD, outside=2),
     f"its branch f/api holds 2 commit(s) that no branch that stays has; keep them on a "
     f"branch (git branch <name> {HEAD[:10]})"),
    (WorktreeFacts(head=HEAD, outside=1),
     f"its detached HEAD {HEAD[:10]} holds 1 commit(s) that no branch that stays has; keep "
     f"them on a branch (git branch <name> {HEAD[:10]})"),
])
def test_when_a_worktree_stays(facts: WorktreeFacts, expected: str | None) -> None:
    assert clean_rules.why_keep_worktree(facts) == expected


@pytest.mark.parametrize(("kept_for", "expected"), [
    (None, "nothing uncommitted or untracked, and every commit of its HEAD is in a branch "
           "that stays"),
    ("1 uncommitted or untracked file(s) (x): commit them",
     "--force (without it, kept: 1 uncommitted or untracked file(s) (x): commit them)"),
])
def test_why_a_worktree_goes(kept_for: str | None, expected: str) -> None:
    assert clean_rules.why_remove_worktree(kept_for) == expected


def test_why_a_not_picked_attempt_goes() -> None:
    why = "not picked: audio.t2 stands for audio"
    assert clean_rules.why_remove_worktree(None, why) == (
        "not picked: audio.t2 stands for audio; its commits go with it, and nothing is "
        "uncommitted or untracked")
    assert clean_rules.why_remove_worktree("it is locked", why) == \
        "--force (without it, kept: it is locked)"


def _outside(history: dict[str, set[str]], others: set[str]
             ) -> Callable[[str, list[str]], int]:
    """`outside` over a history given as branch -> its commits; `others` are the commits of
    the branches that stay in any case (the base, a person's)."""
    def count(branch: str, going: list[str]) -> int:
        staying = set(others).union(*(c for b, c in history.items() if b not in going))
        return len(history[branch] - staying)
    return count


@pytest.mark.parametrize(("history", "others", "going", "kept"), [
    ({"f/a": {"1"}, "f/b": {"2"}}, {"1", "2"}, ["f/a", "f/b"], {}),  # both merged
    ({"f/a": {"1", "3"}, "f/b": {"2"}}, {"1", "2"}, ["f/b"], {"f/a": 1}),
    # f/b holds f/a's commit: f/b must stay, so f/a may go (the fixpoint's second round)
    ({"f/a": {"1"}, "f/b": {"1", "2"}}, set(), ["f/a"], {"f/b": 2}),
    ({"f/a": {"1"}, "f/b": {"1"}}, set(), ["f/b"], {"f/a": 1}),  # the same commits: one stays
    ({"f/a": {"1"}, "f/b": {"2"}, "f/c": {"3"}}, {"2"}, ["f/b"], {"f/a": 1, "f/c": 1}),
    ({}, set(), [], {}),
])
def test_which_branches_are_deleted(history: dict[str, set[str]], others: set[str],
                                    going: list[str], kept: dict[str, int]) -> None:
    assert clean_rules.deletable_branches(list(history), _outside(history, others)) == \
        (going, kept)


@pytest.mark.parametrize(("is_worktree", "branch", "locked", "expected"), [
    (True, None, False, "remove"),
    (True, "try-it", False, "keep"),
    (True, None, True, "keep"),
    (False, None, False, "archive"),
])
def test_what_clean_does_with_an_entry_of_the_scratch_folder(
        is_worktree: bool, branch: str | None, locked: bool, expected: str) -> None:
    todo, why = clean_rules.scratch_entry(is_worktree=is_worktree, branch=branch,
                                          locked=locked)
    assert todo == expected and why


@pytest.mark.parametrize(("supervisor", "landing", "expected"), [
    (None, None, None),
    (12, None, "feature 'f' is running (its supervisor is pid 12); stop it with 'dispatch "
               "stop --feature f', then clean again (nothing was changed)"),
    (None, 34, "feature 'f' is landing work in its integration branch (pid 34); wait for it "
               "to finish (see 'dispatch status'), then clean again (nothing was changed)"),
    (12, 34, "feature 'f' is running (its supervisor is pid 12); stop it with 'dispatch "
             "stop --feature f', then clean again (nothing was changed)"),
])
def test_clean_waits_for_the_supervisor_and_a_landing(
        supervisor: int | None, landing: int | None, expected: str | None) -> None:
    assert clean_rules.why_busy("f", supervisor, landing) == expected


def test_a_branch_that_moved_since_its_check_is_not_deleted(repo: Path) -> None:
    git(repo, "branch", "feat/a")
    checked = git(repo, "rev-parse", "feat/a")
    git(repo, "switch", "-q", "feat/a")
    late = commit(repo, {"late.txt": "a commit after the check\n"})
    git(repo, "switch", "-q", "-")
    assert refs.delete_branch(repo, "feat/a", checked) is False
    assert git(repo, "rev-parse", "feat/a") == late
    assert refs.delete_branch(repo, "feat/a", late) is True
    assert refs.branch_commit(repo, "feat/a") is None


def test_archiving_moves_files_keeps_links_and_leaves_out_a_named_pipe(tmp_path: Path) -> None:
    source, outside = tmp_path / "logs", tmp_path / "outside.txt"
    (source / "deep").mkdir(parents=True)
    (source / "a.log").write_text("a\n")
    (source / "deep" / "b.log").write_text("b\n")
    outside.write_text("not the archive's\n")
    (source / "link").symlink_to(outside)
    os.mkfifo(source / "pipe")  # nobody writes to it: opening it to read would block
    for move in (False, True):
        target = tmp_path / f"archive-{move}"
        left = clean_archive.transfer(source, target, move=move)
        assert left == [source / "pipe"]
        assert (target / "a.log").read_text() == "a\n"
        assert (target / "deep" / "b.log").read_text() == "b\n"
        assert (target / "link").readlink() == outside
        assert not (target / "pipe").exists()
    assert not (source / "a.log").exists() and (source / "pipe").exists()  # moved; left
    assert outside.read_text() == "not the archive's\n"
    assert clean_archive.kind(source / "pipe") == "a named pipe"


def test_a_workstream_link_is_not_a_folder_to_archive(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "plan").mkdir(parents=True)
    (elsewhere / "plan" / "step-1.md").write_text("one\n")
    (elsewhere / ".gitignore").write_text("*\n")
    linked, own = tmp_path / "linked", tmp_path / "own"
    linked.mkdir()
    (linked / ".workstream").symlink_to(elsewhere)
    own.mkdir()
    (own / ".workstream").mkdir()
    assert clean_archive.work_dir(linked) is None
    assert clean_archive.work_dir(own) == own / ".workstream"
    assert clean_archive.work_files(elsewhere) == ["plan/step-1.md"]


def _sleeper(cwd: Path, env: dict[str, str], group: int | None = None
             ) -> subprocess.Popen[bytes]:
    """A process in `cwd` with `env` added, in a session of its own, or in process group
    `group` (0: a new group it leads, in this session)."""
    def join() -> None:
        if group is not None:
            os.setpgid(0, group)

    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], cwd=cwd,
                            env={**os.environ, **env}, start_new_session=group is None,
                            preexec_fn=join)


def test_only_processes_provably_of_a_workstream_are_found_and_stopped(
        tmp_path: Path) -> None:
    """Ours: two of working in the worktree, the workstream's environment, the run's group."""
    worktree = tmp_path / "wt"
    (worktree / "sub").mkdir(parents=True)
    named = {"DISPATCH_FEATURE": "f", "DISPATCH_WORKSTREAM": "api"}
    ours = _sleeper(worktree / "sub", named)  # escaped: a session of its own
    run = _sleeper(worktree, {}, group=0)  # the run's group: no environment of ours
    gone_out = _sleeper(tmp_path, named, group=run.pid)  # `cd /tmp; nohup cmd &`
    other_ws = _sleeper(worktree, {**named, "DISPATCH_WORKSTREAM": "web"})
    elsewhere = _sleeper(tmp_path, named)  # ours by name only: another repository's?
    bare = _sleeper(tmp_path, {}, group=run.pid)  # in the group only: not provably ours
    everyone = (ours, run, gone_out, other_ws, elsewhere, bare)
    try:
        owner = strays.Owner(worktree, named, frozenset({run.pid}))
        found = strays.find([owner])[worktree]
        assert sorted(s.pid for s in found) == sorted([ours.pid, run.pid, gone_out.pid])
        assert strays.stop(found, grace=2.0) == []
        assert all(p.wait(5) != 0 for p in (ours, run, gone_out))
        assert all(p.poll() is None for p in (other_ws, elsewhere, bare))
        assert psutil.Process(other_ws.pid).is_running()
    finally:
        for process in everyone:
            process.kill()
            process.wait()
