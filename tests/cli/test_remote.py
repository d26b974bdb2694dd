"""Working across machines: a local bare repository plays the remote."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import Result
from tests.support.gitrepo import commit, git
from tests.support.integrate import FOUR, work

Cli = Callable[..., Result]


@pytest.fixture
def origin(repo: Path, tmp_path: Path) -> Path:
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(repo, "remote", "add", "origin", str(bare))
    git(repo, "push", "-q", "origin", "main")
    return bare


def other_machine(origin: Path, tmp_path: Path, branch: str, files: dict[str, str]) -> str:
    """A clone elsewhere that pushes one branch of work (like a session on another host)."""
    clone = tmp_path / branch.replace("/", "_")
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    git(clone, "checkout", "-q", "-b", branch)
    tip = commit(clone, files, f"{branch}: work")
    git(clone, "push", "-q", "origin", branch)
    return tip


def test_pattern_branches_from_two_clones_are_integrated_and_pushed(
        repo: Path, origin: Path, tmp_path: Path, cli: Cli) -> None:
    one = other_machine(origin, tmp_path, "claude/segment-1", {"seg1.txt": "one\n"})
    two = other_machine(origin, tmp_path, "claude/segment-2", {"seg2.txt": "two\n"})
    result = cli("integrate", "--remote", "origin", "--pattern", "claude/segment-*",
                 "--min-branches", "2", "--push")
    assert result.code == 0, result
    assert result.out.splitlines()[0] == "merged: segment-1, segment-2"
    pushed = git(origin, "rev-parse", "claude-segment/integration")
    git(repo, "merge-base", "--is-ancestor", one, pushed)
    git(repo, "merge-base", "--is-ancestor", two, pushed)
    assert git(origin, "log", "--first-parent", "--format=%s", "-2",
               "claude-segment/integration") == (
        "Merge segment-2 workstream\nMerge segment-1 workstream")
    assert git(repo, "branch", "--show-current") == "main"
    assert git(repo, "status", "--porcelain") == ""  # .worktrees/ is git's to ignore


@pytest.mark.usefixtures("repo")
def test_too_few_branches_and_none_at_all(origin: Path, tmp_path: Path, cli: Cli) -> None:
    none = cli("integrate", "--remote", "origin", "--pattern", "claude/segment-*")
    assert (none.code, none.err) == (1, (
        "dispatch: error: no branch matches 'claude/segment-*' on origin; check the pattern "
        "(quote it in the shell) or push the branches first\n"))
    other_machine(origin, tmp_path, "claude/segment-1", {"seg1.txt": "one\n"})
    few = cli("integrate", "--remote", "origin", "--pattern", "claude/segment-*",
              "--min-branches", "2")
    assert (few.code, few.err) == (1, (
        "dispatch: error: 1 branch(es) match 'claude/segment-*'; waiting for 2: push more, "
        "lower --min-branches, or use --watch\n"))


@pytest.mark.usefixtures("repo")
def test_delete_merged_remote_branches(origin: Path, tmp_path: Path, cli: Cli) -> None:
    other_machine(origin, tmp_path, "claude/segment-1", {"seg1.txt": "one\n"})
    result = cli("integrate", "--remote", "origin", "--pattern", "claude/segment-*",
                 "--push", "--delete-merged")
    assert result.code == 0, result
    assert git(origin, "branch", "--list", "claude/*") == ""
    assert git(origin, "branch", "--list", "claude-segment/*").strip() == \
        "claude-segment/integration"


def test_feature_branches_pushed_from_elsewhere_are_fetched(repo: Path, origin: Path,
                                                            tmp_path: Path, cli: Cli) -> None:
    commit(repo, {"specs/four.md": FOUR})
    assert cli("start", "specs/four.md", "--no-agents").code == 0
    work(repo, "api", {"api/a.txt": "a\n"})
    git(repo, "push", "-q", "origin", "four/web")
    clone = tmp_path / "elsewhere"  # another machine works on the web workstream
    git(tmp_path, "clone", "-q", "--branch", "four/web", str(origin), str(clone))
    remote_tip = commit(clone, {"web/w.txt": "from another machine\n"}, "web: remote work")
    git(clone, "push", "-q", "origin", "HEAD:four/web")
    from functools import partial

    from dispatch.state.paths import FeaturePaths
    from dispatch.state.store import StateStore
    from tests.support.integrate import _done

    StateStore(FeaturePaths(repo, "four")).update(partial(_done, name="web"))
    result = cli("integrate", "--remote", "origin")
    assert result.code == 0, result
    integration = repo / ".worktrees/four/integration"
    assert (integration / "web/w.txt").read_text() == "from another machine\n"
    git(repo, "merge-base", "--is-ancestor", remote_tip, "four/integration")


def test_missing_and_refusing_remotes(repo: Path, cli: Cli) -> None:
    commit(repo, {"specs/four.md": FOUR})
    missing = cli("integrate", "--remote", "nowhere", "--pattern", "x/*")
    assert missing.err == ("dispatch: error: no git remote named 'nowhere'; add it with 'git "
                           "remote add nowhere <url>' (see 'git remote -v')\n")
    git(repo, "remote", "add", "gone", str(repo.parent / "does-not-exist.git"))
    refused = cli("integrate", "--remote", "gone", "--pattern", "x/*", "--retry-delay", "0")
    assert refused.code == 1
    assert refused.err.startswith("dispatch: error: git fetch gone failed after 5 attempts: ")
    assert refused.err.endswith("check the remote and the network, then run it again\n")
    assert "\n" not in refused.err.rstrip("\n")


def test_watch_integrates_once_enough_branches_exist(repo: Path, origin: Path,
                                                     tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    watcher = subprocess.Popen(
        [sys.executable, "-m", "dispatch", "integrate", "--remote", "origin", "--pattern",
         "claude/segment-*", "--min-branches", "2", "--watch", "--interval", "1", "--push"],
        cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        other_machine(origin, tmp_path, "claude/segment-1", {"seg1.txt": "one\n"})
        time.sleep(1.5)
        assert git(origin, "branch", "--list", "claude-segment/*") == ""  # 1 of 2: waits
        other_machine(origin, tmp_path, "claude/segment-2", {"seg2.txt": "two\n"})
        deadline = time.monotonic() + 30
        while not git(origin, "branch", "--list", "claude-segment/*"):
            assert time.monotonic() < deadline and watcher.poll() is None
            time.sleep(0.2)
        other_machine(origin, tmp_path, "claude/segment-3", {"seg3.txt": "three\n"})
        while "segment-3" not in git(origin, "log", "--format=%s",
                                     "claude-segment/integration"):
            assert time.monotonic() < deadline and watcher.poll() is None
            time.sleep(0.2)
    finally:
        watcher.send_signal(signal.SIGINT)
        _out, err = watcher.communicate(timeout=30)
    assert watcher.returncode == 0, err
    state = json.loads((repo / ".worktrees/claude-segment/sessions.json").read_text())
    assert sorted(state["integration"]["merges"]) == ["segment-1", "segment-2", "segment-3"]


@pytest.mark.usefixtures("origin")
def test_watch_stops_on_a_real_error_whatever_its_text(repo: Path, cli: Cli) -> None:
    """Regression: --watch kept polling past any error whose message held the words
    "nothing to integrate" (it matched the text); only the typed "nothing to integrate
    yet" keeps it waiting. Here the verify command's own text holds those words."""
    commit(repo, {"specs/four.md": FOUR}, "spec")
    assert cli("start", "specs/four.md", "--no-agents").code == 0
    work(repo, "api", {"api/a.py": "x = 1\n"})
    proc = subprocess.run(
        [sys.executable, "-m", "dispatch", "integrate", "--remote", "origin", "--watch",
         "--interval", "1", "--verify", "echo nothing to integrate; exit 1"],
        cwd=repo, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 1
    assert "already fails on the integration branch before any merge" in proc.stderr
