"""`dispatch start a.md b.md c.md`: instruction files as workers, one workstream per file,
run under the same supervisor, cap and state as a spec's workstreams."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from dispatch.state.paths import FeaturePaths
from tests.support.cli import Result
from tests.support.fakes import FakeClaude
from tests.support.gitrepo import commit, snapshot
from tests.support.sessions import records, settle, statuses
from tests.support.waiting import wait_for

Cli = Callable[..., Result]
TEXTS = {
    "workers/worker1_instructions.md": "# Add a health endpoint\n\nServe GET /health.\n",
    "workers/worker2_instructions.md": "# Document the API\n\n- list every route\n",
    "workers/worker3_instructions.md": "Rename `main` to `serve`.\n",
}
FILES = list(TEXTS)


@pytest.fixture
def workers(repo: Path) -> list[str]:
    commit(repo, TEXTS, "instructions")
    return FILES


@pytest.mark.usefixtures("workers")
def test_three_files_run_as_three_workers_at_most_two_at_once(
        repo: Path, cli: Cli, fake_claude: FakeClaude, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_CLAUDE_WORKERS", "2")  # the seed's variable: --max-parallel's default
    barrier = fake_claude.barrier("all")
    fake_claude.script({"*": [barrier.step()]})
    try:
        result = cli("start", *FILES)
        assert result.code == 0, result
        barrier.wait_started("worker1", "worker2")
        wait_for(lambda: records(repo, "worker")["worker3"]["error"] ==
                 "waiting for a free slot (--max-parallel)", "worker3 never queued")
        # Two sessions hold at the barrier; the supervisor keeps the third waiting.
        assert statuses(records(repo, "worker")) == {
            "worker1": "running", "worker2": "running", "worker3": "pending"}
        assert sorted(c["workstream"] for c in fake_claude.calls()) == ["worker1", "worker2"]
        assert barrier.runs_started("worker3") == 0
    finally:
        barrier.release()
    done = settle(repo, "worker")
    assert statuses(done) == {"worker1": "done", "worker2": "done", "worker3": "done"}
    starts = {c["workstream"]: c["time"] for c in fake_claude.calls()}
    ends = {e["workstream"]: e["time"] for e in fake_claude.ends()}
    assert starts["worker3"] >= min(ends["worker1"], ends["worker2"])  # a slot freed first
    state = json.loads(FeaturePaths(repo, "worker").state_file.read_text())
    assert state["run"]["max_parallel"] == 2
    for number, (name, path) in enumerate(zip(sorted(starts), FILES, strict=True), start=1):
        ws = state["plan"]["workstreams"][number - 1]
        assert (ws["name"], ws["title"], ws["tasks"]) == (
            name, Path(path).name, [TEXTS[path].strip()])
        tasks = (repo / ".worktrees/worker" / name / ".workstream/TASKS.md").read_text()
        assert TEXTS[path].strip().splitlines()[-1] in tasks


def test_the_feature_is_named_after_the_folder_when_the_names_share_nothing(
        repo: Path, cli: Cli) -> None:
    commit(repo, {"tasks/alpha.md": "Do alpha\n", "tasks/beta-prompt.md": "Do beta\n"})
    result = cli("start", "tasks/alpha.md", "tasks/beta-prompt.md", "--no-agents", "--json")
    assert result.code == 0, result
    state = json.loads(FeaturePaths(repo, "tasks").state_file.read_text())
    assert [ws["name"] for ws in state["plan"]["workstreams"]] == ["alpha", "beta"]
    assert "Do beta" in FeaturePaths(repo, "tasks").spec_snapshot.read_text()


@pytest.mark.usefixtures("workers")
def test_feature_option_names_the_feature(repo: Path, cli: Cli) -> None:
    result = cli("start", *FILES[:2], "--feature", "docs-and-health", "--no-agents")
    assert result.code == 0, result
    assert set(records(repo, "docs-and-health")) == {"worker1", "worker2"}


@pytest.mark.usefixtures("workers")
@pytest.mark.parametrize(("arrange", "args", "message"), [
    (None, (FILES[0],), "workers/worker1_instructions.md: no workstreams found: add a '## "
     "Workstreams' section with one '### Workstream N: Title' heading per parallel unit, each "
     "with a '**Goal**:' line and task bullets ('dispatch plan SPEC --explain' shows how each "
     "heading was read); or, if it is one worker's instructions, pass it with the others "
     "(two or more files: dispatch start a.md b.md) to run each as a worker"),
    ({"specs/x.md": "# X\n## Workstreams\n### Api\n- [ ] serve\n"}, (FILES[0], "specs/x.md"),
     "specs/x.md has a Workstreams section: it is a spec, not one worker's instructions; "
     "start it alone (dispatch start specs/x.md), or pass only instruction files"),
    (None, (FILES[0], FILES[0]), "the same instruction file is given twice: pass each once"),
    ({"other/worker1.md": "Other\n"}, (FILES[0], "other/worker1.md"),
     "workers/worker1_instructions.md and other/worker1.md both make workstream 'worker1': "
     "rename one of them"),
    ({"a/one.md": "1\n", "b/two.md": "2\n"}, ("a/one.md", "b/two.md"),
     "the instruction files share no name prefix and no folder to name the feature after: "
     "pass --feature NAME"),
    ({"empty.md": "\n"}, (FILES[0], "empty.md"),
     "empty.md is empty: write the worker's instructions in it"),
    (None, (FILES[0], "missing.md"), "missing.md: no such spec file; check the path (specs "
     "usually live in specs/)"),
    (None, ("specs/none.md", "--feature", "x"), "--feature names the feature of instruction "
     "files (two or more); a spec names its own (frontmatter `feature:`)"),
])
def test_refusals_are_one_line_and_change_nothing(
        repo: Path, cli: Cli, arrange: dict[str, str] | None, args: tuple[str, ...],
        message: str) -> None:
    if arrange:
        commit(repo, arrange)
    before = snapshot(repo)
    result = cli("start", *args, "--no-agents")
    assert (result.code, result.out, result.err) == (1, "", f"dispatch: error: {message}\n")
    assert snapshot(repo) == before
    assert not (repo / ".worktrees").exists()
