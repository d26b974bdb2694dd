"""`dispatch plan` on real-world spec shapes (issue 16): `--explain`, notes, warnings with
their lines, and the notes a worker finds in TASKS.md."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from dispatch.cli import main
from tests.support.cli import Result
from tests.support.gitrepo import commit

PLANNING = """\
---
feature: engine
---
# Development Workstreams

## Worktree Locations
- `../app-core`

## Stream 1: Core
**Worktree**: `../app-core`

Builds the engine.

**Files**: `core/**`
#### Tasks
- [ ] Parser

## Stream 2: Web
**Depends on**: Zeta
- [ ] Screens

## Timeline
### Week 1
- parser
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = Path("planning.md")
    path.write_text(PLANNING)
    return path


WARNINGS = (
    "planning.md:19: warning: dependency 'Zeta' of workstream 'web' names no "
    "workstream: it is kept as a note; refer to a workstream by its number or name if it "
    "means one\n")


@pytest.mark.usefixtures("spec")
def test_explain_says_for_each_heading_what_it_became_and_why(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "plan", "planning.md", "--explain")
    assert (code, err) == (0, WARNINGS)
    assert out.splitlines() == [
        "line  4  # Development Workstreams  → prose (the document's title, not a section of "
        "workstreams)",
        "line  6  ## Worktree Locations  → prose (not numbered like a workstream, and carries "
        "no workstream field)",
        "line  9  ## Stream 1: Core  → workstream 'core' (numbered \"Stream N\"; goal from its "
        "first paragraph)",
        "line 15  #### Tasks  → field 'tasks' of 'core'",
        "line 18  ## Stream 2: Web  → workstream 'web' (numbered \"Stream N\"; no Goal field "
        "and no text: the title is the goal)",
        "line 22  ## Timeline  → prose (not numbered like a workstream, and carries no "
        "workstream field)",
        "line 23  ### Week 1  → prose (not numbered like a workstream, and carries no "
        "workstream field)",
        "2 workstreams; 1 heading inside them (fields, sub-sections); 4 headings left as prose",
    ]


@pytest.mark.usefixtures("spec")
def test_plan_shows_notes_and_warnings_with_their_lines(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "plan", "planning.md")
    assert (code, err) == (0, WARNINGS)
    assert out.splitlines()[-1] == "note: core: Worktree: `../app-core`"


@pytest.mark.usefixtures("spec")
def test_plan_json_lists_notes_and_warnings_with_lines(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "plan", "planning.md", "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert [(ws["name"], ws["goal"], ws["notes"], ws["dependency_note"])
            for ws in data["workstreams"]] == [
        ("core", "Builds the engine.", ["Worktree: `../app-core`"], None),
        ("web", "Web", [], "Zeta")]
    assert data["warnings"] == [{"line": 19, "message": WARNINGS.split(" warning: ")[1][:-1]}]


def test_a_warning_about_the_whole_plan_has_no_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("s.md").write_text("## Workstreams\n### A\n- a\n### B\n- b\n")
    code, _out, err = run(capsys, "plan", "s.md")
    assert (code, err) == (0, "s.md: warning: no workstream lists its files (a '**Files**:' "
                              "line): dispatch can neither warn about overlapping files nor "
                              "check that each session kept to its own\n")


def test_explain_still_explains_a_spec_that_does_not_parse(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("s.md").write_text("# Plan\n## Locations\n## Stream 1: A\n- a\n## Stream 1: B\n- b\n")
    code, out, err = run(capsys, "plan", "s.md", "--explain")
    assert (code, out.splitlines()[-1], err) == (
        1, "2 workstreams; 0 headings inside them (fields, sub-sections); 2 headings left as "
        "prose",
        "dispatch: error: s.md:5: workstream number 1 is used twice: line 3 (`## Stream 1: A`) "
        "and line 5 (`## Stream 1: B`); number the workstreams 1, 2, 3, ...\n")


def test_explain_is_text_only(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "plan", str(spec), "--explain", "--json")
    assert (code, out) == (2, "")
    assert "--explain prints text: use it without --json" in err


def test_the_worker_finds_the_notes_in_tasks_md(repo: Path,
                                                cli: Callable[..., Result]) -> None:
    commit(repo, {"specs/engine.md": PLANNING}, "a planning document")
    result = cli("start", "specs/engine.md", "--no-agents")
    assert result.code == 0, result
    tasks = (repo / ".worktrees/engine/core/.workstream/TASKS.md").read_text()
    assert "## Mission\n\nBuilds the engine.\n\n## Notes from the spec\n\nFields of the spec " \
           "that dispatch does not act on; take them into account:\n\n- Worktree: " \
           "`../app-core`\n\n## Key files\n" in tasks
    web = (repo / ".worktrees/engine/web/.workstream/TASKS.md").read_text()
    assert "## Mission\n\nWeb\n\n## Key files\n" in web
    assert WARNINGS.replace("planning.md", "specs/engine.md") in result.err
