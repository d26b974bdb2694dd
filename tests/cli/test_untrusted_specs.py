"""A spec (or a repository, or a worker) may point dispatch's writes outside the worktree or
ask for permissions no one confirmed. Nothing dispatch writes or reads for a report leaves
the worktree; a spec's bypassPermissions is shown and needs --allow-bypass."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import Result
from tests.support.fakes import FakeClaude
from tests.support.gitrepo import commit, git, snapshot

Cli = Callable[..., Result]


def spec(files: str = "", frontmatter: str = "") -> str:
    front = f"---\n{frontmatter}---\n" if frontmatter else ""
    owned = f"**Files**: {files}\n" if files else ""
    return f"{front}# S\n## Workstreams\n### Docs\n{owned}- [ ] write the guide\n"


@pytest.mark.parametrize(("files", "why"), [
    ("`/etc/cron.d/evil`", "is an absolute path"),
    ("`~/.bashrc`", "is an absolute path"),
    ("`../outside/notes.md`", "climbs out with '..'"),
    ("`docs/../../x`", "climbs out with '..'"),
])
def test_plan_refuses_owned_paths_outside_the_worktree(
        repo: Path, cli: Cli, files: str, why: str) -> None:
    (repo / "s.md").write_text(spec(files))
    result = cli("plan", "s.md")
    path = files.strip("`")
    assert (result.code, result.err) == (1, (
        f"dispatch: error: s.md:3: workstream 'docs' owns {path!r}, which {why}; owned files "
        "are paths inside the repository, such as `app/cli/main.py` or `docs/**`\n"))


def test_the_rehearsal_worker_never_writes_through_a_committed_symlink(
        repo: Path, cli: Cli, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo / "docs").symlink_to(outside)
    commit(repo, {"specs/s.md": spec("`docs/guide.md`")}, "a symlink to elsewhere")
    assert cli("start", "specs/s.md", "--rehearse", "--wait").code == 0
    assert list(outside.iterdir()) == []
    assert git(repo, "show", "--name-only", "--format=", "s/docs") == "rehearsal/docs.md"


def test_a_committed_work_folder_symlink_is_refused_before_any_change(
        repo: Path, cli: Cli, tmp_path: Path) -> None:
    (repo / ".workstream").symlink_to(tmp_path)
    commit(repo, {"specs/s.md": spec()}, "odd")
    before = snapshot(repo)
    result = cli("start", "specs/s.md", "--no-agents")
    assert (result.code, result.err) == (1, (
        "dispatch: error: the base commit holds '.workstream' as a symlink or a file; dispatch "
        "keeps each worktree's TASKS.md and RESULTS.md in that folder: remove it from the "
        "repository ('git rm .workstream') and commit, then start again\n"))
    assert snapshot(repo) == before and not (repo / ".worktrees").exists()


def test_a_results_file_linked_elsewhere_is_never_read(
        repo: Path, cli: Cli, fake_claude: FakeClaude, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("SENTINEL-SECRET-8f2d\n")
    commit(repo, {"specs/s.md": spec()})
    fake_claude.script({"docs": [{"do": "commit", "run_before_reply": [
        "ln", "-sf", str(secret), ".workstream/RESULTS.md"]}]})
    assert cli("start", "specs/s.md", "--wait", "--no-follow-up").code == 1
    assert cli("integrate", "--include", "needs_attention").code == 0
    feature = repo / ".worktrees/s"
    for path in feature.rglob("*"):
        if path.is_file() and not path.is_symlink() and ".git" not in path.parts:
            assert "SENTINEL-SECRET" not in path.read_text(errors="replace"), path


def test_a_specs_bypass_permissions_needs_a_command_line_confirmation(
        repo: Path, cli: Cli, fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/s.md": spec(frontmatter="permission_mode: bypassPermissions\n")})
    plan = cli("plan", "specs/s.md")
    assert plan.code == 0
    assert "the spec sets permission_mode bypassPermissions: its workers may run any " \
           "command without asking; 'dispatch start' needs --allow-bypass to run it" in plan.err
    before = snapshot(repo)
    refused = cli("start", "specs/s.md")
    assert refused.code == 1 and "run again with --allow-bypass" in refused.err
    assert snapshot(repo) == before and fake_claude.calls() == []
    assert cli("start", "specs/s.md", "--allow-bypass", "--wait").code == 0
    (call,) = fake_claude.calls()
    assert call["argv"][call["argv"].index("--permission-mode") + 1] == "bypassPermissions"


def test_a_permission_mode_on_the_command_line_overrides_the_specs(
        repo: Path, cli: Cli, fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/s.md": spec(frontmatter="permission_mode: bypassPermissions\n")})
    assert cli("start", "specs/s.md", "--permission-mode", "acceptEdits", "--wait").code == 0
    (call,) = fake_claude.calls()
    assert call["argv"][call["argv"].index("--permission-mode") + 1] == "acceptEdits"
