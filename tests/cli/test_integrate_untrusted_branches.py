"""`check` and `integrate` on branches that workers left in odd shapes: a force-added
working folder, unrelated history, a branch made again at the base, a workstream the edited
spec no longer has. Each is that branch's problem alone, said plainly; the exit code says
that something was left out."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import Result
from tests.support.gitrepo import commit, git
from tests.support.integrate import FOUR, work

Cli = Callable[..., Result]


@pytest.fixture
def four(repo: Path, cli: Cli) -> Path:
    commit(repo, {"specs/four.md": FOUR})
    assert cli("start", "specs/four.md", "--no-agents").code == 0
    return repo


def merges(repo: Path) -> dict[str, Any]:
    found: dict[str, Any] = json.loads((repo / ".worktrees/four/sessions.json").read_text())[
        "integration"]["merges"]
    return found


def force_add_results(repo: Path, name: str) -> None:
    """What a worker does that ignores the .gitignore dispatch put in .workstream/."""
    worktree = repo / ".worktrees/four" / name
    (worktree / ".workstream/RESULTS.md").write_text(f"# {name}\n")
    git(worktree, "add", "-f", ".workstream/RESULTS.md", ".workstream/TASKS.md")
    git(worktree, "commit", "-q", "-m", f"{name}: results too")


def test_force_added_working_files_never_reach_the_integration_branch(
        four: Path, cli: Cli) -> None:
    for name in ("api", "web"):
        work(four, name, {f"{name}/x.txt": f"{name}\n"})
        force_add_results(four, name)
    check = cli("check", "--json")
    assert json.loads(check.out)["pairs"] == []  # their RESULTS.md do not "conflict"
    result = cli("integrate")
    assert result.code == 0, result
    assert {n: r["status"] for n, r in merges(four).items() if n in ("api", "web")} == {
        "api": "merged", "web": "merged"}
    files = git(four, "ls-tree", "-r", "--name-only", "four/integration").split()
    assert "api/x.txt" in files and "web/x.txt" in files
    assert not [f for f in files if f.startswith(".workstream")]
    for name in ("api", "web"):  # the worker's own commits are in the history, untouched
        git(four, "merge-base", "--is-ancestor", f"four/{name}", "four/integration")


def test_a_branch_with_unrelated_history_is_its_own_problem(four: Path, cli: Cli) -> None:
    work(four, "api", {"api/a.txt": "api\n"})
    work(four, "web", {"web/w.txt": "web\n"})
    orphan = git(four, "commit-tree", git(four, "mktree", input_text=""), "-m", "orphan")
    git(four, "update-ref", "refs/heads/four/web", orphan)
    check = cli("check")
    assert check.code == 0, check
    assert "web cannot be merged: its branch has no history in common with the base" \
        in check.out
    result = cli("integrate")
    assert result.code == 1, result
    assert "Traceback" not in result.err and result.err == ""
    found = merges(four)
    assert found["api"]["status"] == "merged"
    assert (found["web"]["status"], found["web"]["reason"]) == (
        "conflict", "its branch has no history in common with the base (was it made from "
        "another repository or an orphan branch?)")


def test_a_done_workstream_whose_branch_holds_nothing_is_not_called_merged(
        four: Path, cli: Cli) -> None:
    work(four, "api", {"api/a.txt": "api\n"})
    work(four, "web", {"web/w.txt": "web\n"})
    base = json.loads((four / ".worktrees/four/sessions.json").read_text())["base"]
    git(four, "update-ref", "refs/heads/four/web", base)  # deleted and made again at base
    result = cli("integrate")
    assert result.code == 1, result
    assert (merges(four)["web"]["status"], merges(four)["web"]["reason"]) == (
        "skipped", "its branch holds no commits of its own (was it deleted and made again at "
        "the base?)")


def test_a_workstream_the_edited_spec_renamed_is_not_silently_dropped(
        four: Path, cli: Cli) -> None:
    work(four, "api", {"api/a.txt": "api\n"})
    commit(four, {"specs/four.md": FOUR.replace("Workstream 1: Api", "Workstream 1: Api v2")})
    assert cli("start", "specs/four.md", "--no-agents").code == 0
    work(four, "api-v2", {"api/b.txt": "v2\n"})
    result = cli("integrate")
    assert result.code == 0, result
    assert {n: r["status"] for n, r in merges(four).items()
            if r["status"] == "merged"} == {"api": "merged", "api-v2": "merged"}
    report = (four / ".worktrees/four/INTEGRATION.md").read_text()
    assert "`api` — api (no longer in the spec: renamed or removed?)" in report
