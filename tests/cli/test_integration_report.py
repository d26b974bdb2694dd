"""INTEGRATION.md is rewritten by every `integrate`, but only while it is dispatch's own:
a report a person annotated, or a file of that name a worker wrote, is kept beside it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import Result
from tests.support.gitrepo import commit
from tests.support.integrate import FOUR, work

Cli = Callable[..., Result]


@pytest.fixture
def four(repo: Path, cli: Cli) -> Path:
    commit(repo, {"specs/four.md": FOUR})
    assert cli("start", "specs/four.md", "--no-agents").code == 0
    work(repo, "api", {"api/app.py": "app\n"})
    return repo


def kept(repo: Path) -> list[Path]:
    return sorted((repo / ".worktrees/four").glob("INTEGRATION.*.md"))


def test_its_own_report_is_replaced_and_a_changed_one_kept(four: Path, cli: Cli) -> None:
    report = four / ".worktrees/four/INTEGRATION.md"
    assert cli("integrate").code == 0
    first = report.read_text()
    assert first.startswith("# Integration report") and "api" in first
    assert cli("integrate").code == 0
    assert kept(four) == []  # unchanged since dispatch wrote it: simply rewritten

    report.write_text(first + "\nReviewed by Ana: ship it after the docs land.\n")
    again = cli("integrate")
    assert again.code == 0
    (aside,) = kept(four)
    assert "Reviewed by Ana" in aside.read_text()
    assert f"kept .worktrees/four/{aside.name}" in again.err
    assert "Reviewed by Ana" not in report.read_text()


def test_a_file_a_worker_put_there_is_kept(four: Path, cli: Cli) -> None:
    report = four / ".worktrees/four/INTEGRATION.md"
    report.write_text("# integration notes of web\n")
    assert cli("integrate").code == 0
    (aside,) = kept(four)
    assert aside.read_text() == "# integration notes of web\n"
    assert report.read_text().startswith("# Integration report")


def test_a_pipe_in_its_place_is_moved_aside_not_opened(four: Path, cli: Cli) -> None:
    import os

    report = four / ".worktrees/four/INTEGRATION.md"
    os.mkfifo(report)
    assert cli("integrate").code == 0  # (an open of the pipe would hang here)
    assert report.read_text().startswith("# Integration report")
    assert len(kept(four)) == 1
