"""The parts `dispatch clean` acts with, each against the real thing (a git repository, the
file system, live processes): compare-and-delete of a branch, archiving that never opens a
named pipe nor follows a link, and finding the processes a run left in a folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil

from dispatch.commands import clean_archive
from dispatch.core import strays
from dispatch.gitops import refs
from tests.support.gitrepo import commit, git


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


def _sleeper(cwd: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], cwd=cwd,
                            env={**os.environ, **env}, start_new_session=True)


def test_only_processes_provably_of_a_workstream_are_found_and_stopped(
        tmp_path: Path) -> None:
    worktree = tmp_path / "wt"
    (worktree / "sub").mkdir(parents=True)
    named = {"DISPATCH_FEATURE": "f", "DISPATCH_WORKSTREAM": "api"}
    ours = _sleeper(worktree / "sub", named)  # escaped: a session of its own
    in_group = _sleeper(worktree, {})  # no environment of ours, but the run's group
    other_ws = _sleeper(worktree, {**named, "DISPATCH_WORKSTREAM": "web"})
    elsewhere = _sleeper(tmp_path, named)  # ours, but not working in the worktree
    try:
        owner = strays.Owner(worktree, named, frozenset({in_group.pid}))
        found = strays.find([owner])[worktree]
        assert sorted(s.pid for s in found) == sorted([ours.pid, in_group.pid])
        assert strays.stop(found, grace=2.0) == []
        assert ours.wait(5) != 0 and in_group.wait(5) != 0
        assert other_ws.poll() is None and elsewhere.poll() is None
        assert psutil.Process(other_ws.pid).is_running()
    finally:
        for process in (ours, in_group, other_ws, elsewhere):
            process.kill()
            process.wait()
