"""`dispatch check`, `integrate` and `clean` on real repositories."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import Result
from tests.support.gitrepo import commit, git, snapshot, write
from tests.support.integrate import FOUR, work

Cli = Callable[..., Result]
VERIFY = "sh check.sh"  # the project's test command: fails when any file says BROKEN
CHECK = "! grep -rq BROKEN --include=*.txt .\n"


@pytest.fixture
def four(repo: Path, cli: Cli) -> Path:
    commit(repo, {"specs/four.md": FOUR, "shared.txt": "one\ntwo\nthree\n", "check.sh": CHECK})
    assert cli("start", "specs/four.md", "--no-agents").code == 0
    return repo


def merges(repo: Path, feature: str = "four") -> dict[str, Any]:
    state = json.loads((repo / f".worktrees/{feature}/sessions.json").read_text())
    found: dict[str, Any] = state["integration"]["merges"]
    return found


def test_check_integrate_and_clean_with_one_conflict(four: Path, cli: Cli) -> None:
    repo = four
    work(repo, "api", {"api/a.txt": "api\n", "shared.txt": "one\nAPI\nthree\n"})
    work(repo, "web", {"web/w.txt": "web\n"})
    work(repo, "cli", {"cli/c.txt": "cli\n", "shared.txt": "one\nCLI\nthree\n"})
    work(repo, "docs", {"docs/d.txt": "docs\n"})
    before = snapshot(repo, "four")

    check = cli("check", "--json")
    assert check.code == 0, check
    predicted = json.loads(check.out)
    assert predicted["pairs"] == [{"a": "api", "b": "cli", "files": ["shared.txt"]}]
    assert predicted["out_of_scope"] == {"api": ["shared.txt"], "cli": ["shared.txt"]}

    result = cli("integrate", "--verify", VERIFY)
    assert result.code == 1, result  # not everything merged
    assert result.out.splitlines()[:2] == ["conflict: cli", "merged: api, web, docs"]
    found = merges(repo)
    assert {n: r["status"] for n, r in found.items()} == {
        "api": "merged", "web": "merged", "cli": "conflict", "docs": "merged"}
    assert (found["cli"]["files"], found["cli"]["collides_with"]) == (["shared.txt"], ["api"])
    integration = repo / ".worktrees/four/integration"
    assert git(integration, "log", "--first-parent", "--format=%s", "-3") == (
        "Merge docs workstream\nMerge web workstream\nMerge api workstream")
    assert git(integration, "show", "--format=%P", "-s", "HEAD").count(" ") == 1  # no-ff
    assert git(integration, "status", "--porcelain") == ""
    assert (integration / "web/w.txt").exists() and (integration / "docs/d.txt").exists()
    report = (repo / ".worktrees/four/INTEGRATION.md").read_text()
    for name in ("api", "web", "cli", "docs"):
        assert f"> Results of {name}." in report
    assert "- `api` × `cli`: `shared.txt`" in report
    assert "collides with the earlier merge of `api`" in report
    assert ("`dispatch resume cli --prompt 'Merge branch four/integration into your branch "
            "and resolve the conflicts in shared.txt (they collide with api), then commit'`, "
            "then `dispatch integrate four`") in report
    assert snapshot(repo, "four") == before

    cleaned = cli("clean")
    assert cleaned.code == 1
    assert cleaned.err == ("kept branch four/cli: 1 commit(s) in no other branch; integrate "
                           "(or merge) it first, or pass --force\n")
    assert git(repo, "branch", "--list", "four/*", "--format=%(refname:short)").split() == [
        "four/cli", "four/integration"]
    assert not (repo / ".worktrees/four/api").exists()
    assert not (repo / ".worktrees/four/cli").exists()  # the worktree went; the branch stays
    assert git(repo, "worktree", "list").count("\n") == 0
    assert snapshot(repo, "four") == before


def test_a_merge_that_breaks_verify_is_taken_back_out(four: Path, cli: Cli) -> None:
    repo = four
    work(repo, "api", {"api/a.txt": "api\n"})
    work(repo, "web", {"web/w.txt": "BROKEN\n"})
    work(repo, "cli", {"cli/c.txt": "cli\n"})
    result = cli("integrate", "--verify", VERIFY)
    assert result.code == 1
    found = merges(repo)
    assert {n: r["status"] for n, r in found.items()} == {
        "api": "merged", "web": "verify_failed", "cli": "merged", "docs": "skipped"}
    assert found["web"]["verify_log"] == ".worktrees/four/logs/integration.verify.web.log"
    assert found["docs"]["reason"] == "its status is pending"
    integration = repo / ".worktrees/four/integration"
    assert not (integration / "web/w.txt").exists()
    assert git(integration, "status", "--porcelain") == ""
    assert git(integration, "log", "--first-parent", "--format=%s", "-2") == (
        "Merge cli workstream\nMerge api workstream")
    import subprocess

    assert subprocess.run(["sh", "check.sh"], cwd=integration).returncode == 0


def test_rerun_merges_only_what_is_new_or_fixed(four: Path, cli: Cli) -> None:
    repo = four
    work(repo, "api", {"api/a.txt": "api\n"})
    work(repo, "web", {"web/w.txt": "BROKEN\n"})
    assert cli("integrate", "--verify", VERIFY).code == 1
    integration = repo / ".worktrees/four/integration"
    head, recorded = git(integration, "rev-parse", "HEAD"), merges(repo)
    logs = repo / ".worktrees/four/logs"
    for name in ("api", "web"):  # the first run's; a merge the rerun tries writes its own
        (logs / f"integration.verify.{name}.log").unlink()
    rerun = cli("integrate", "--verify", VERIFY)
    assert (rerun.code, rerun.out.splitlines()[:3]) == (
        1, ["merged: api", "skipped: cli, docs", "verify_failed: web"]), rerun
    assert git(integration, "rev-parse", "HEAD") == head
    assert merges(repo) == recorded
    assert sorted(p.name for p in logs.glob("integration.verify.*.log")) == [
        "integration.verify.base.log"]  # nothing new: it merged and verified nothing
    work(repo, "web", {"web/w.txt": "fixed\n"}, message="web: fix")
    work(repo, "docs", {"docs/d.txt": "docs\n"})
    again = cli("integrate", "--verify", VERIFY)
    assert again.code == 0, again
    assert git(integration, "log", "--first-parent", "--format=%s", f"{head}..HEAD") == (
        "Merge docs workstream\nMerge web workstream")


def test_dependency_order_then_spec_order(repo: Path, cli: Cli) -> None:
    spec = FOUR.replace("### Workstream 1: Api", "### Workstream 1: Api (after workstream 4)")
    commit(repo, {"specs/four.md": spec})
    assert cli("start", "specs/four.md", "--no-agents").code == 0
    for name in ("api", "web", "cli", "docs"):
        work(repo, name, {f"{name}/f.txt": name})
    assert cli("integrate").code == 0
    integration = repo / ".worktrees/four/integration"
    assert git(integration, "log", "--first-parent", "--format=%s", "-4") == (
        "Merge cli workstream\nMerge web workstream\nMerge api workstream\n"
        "Merge docs workstream")


def test_nothing_done_is_an_error(four: Path, cli: Cli) -> None:
    before = snapshot(four, "four")
    result = cli("integrate")
    assert (result.code, result.err) == (1, (
        "dispatch: error: nothing to integrate: no workstream is done (api: pending, web: "
        "pending, cli: pending, docs: pending); resume them, or choose with --include / "
        "--only\n"))
    assert not (four / ".worktrees/four/integration").exists()
    assert snapshot(four, "four") == before


def test_include_and_only(four: Path, cli: Cli) -> None:
    write(four / ".worktrees/four/web", {"web/w.txt": "w"})
    git(four / ".worktrees/four/web", "add", "-A")
    git(four / ".worktrees/four/web", "commit", "-qm", "wip")
    assert cli("integrate", "--include", "pending", "--only", "web").code == 0
    assert {n: r["status"] for n, r in merges(four).items()} == {
        "api": "skipped", "web": "merged", "cli": "skipped", "docs": "skipped"}
    bad = cli("integrate", "--only", "nope")
    assert bad.err == ("dispatch: error: --only names unknown workstream(s) nope (the "
                       "workstreams are: api, web, cli, docs)\n")


def test_foreign_integration_branch_needs_force(four: Path, cli: Cli) -> None:
    work(four, "api", {"api/a.txt": "a"})
    git(four, "branch", "four/integration")
    refused = cli("integrate")
    assert refused.err == ("dispatch: error: branch 'four/integration' exists but was not made "
                           "by dispatch; pass --force to integrate into it as it is, or rename "
                           "it\n")
    assert cli("integrate", "--force").code == 0


def test_a_branch_deleted_by_hand_is_skipped(four: Path, cli: Cli) -> None:
    work(four, "api", {"api/a.txt": "a"})
    work(four, "web", {"web/w.txt": "w"})
    git(four, "worktree", "remove", "--force", str(four / ".worktrees/four/web"))
    git(four, "branch", "-D", "four/web")
    result = cli("integrate")
    assert result.code == 1, result  # a done workstream was left out
    assert merges(four)["web"] == {
        "status": "skipped", "tip": None, "commit": None, "files": [], "collides_with": [],
        "verify_log": None, "reason": "its branch is missing (deleted by hand?)",
        "batch": None, "flaky": None}


def test_a_verify_command_that_cannot_run(four: Path, cli: Cli) -> None:
    work(four, "api", {"api/a.txt": "a"})
    result = cli("integrate", "--verify", "no-such-test-runner --all")
    assert (result.code, result.err) == (1, (
        "verifying the integration branch before any merge: no-such-test-runner --all\n"
        "dispatch: error: the verify command `no-such-test-runner --all` already fails on the "
        "integration branch before any merge (see "
        ".worktrees/four/logs/integration.verify.base.log); fix it or run without --verify\n"))
    assert git(four, "branch", "--list", "four/integration") == ""  # nothing half-made
    assert not (four / ".worktrees/four/integration").exists()


def test_clean_force_and_dry_run(four: Path, cli: Cli) -> None:
    work(four, "api", {"api/a.txt": "a"})
    write(four / ".worktrees/four/web", {"web/draft.txt": "uncommitted"})
    dry = cli("clean", "--dry-run")
    assert "would remove worktree .worktrees/four/api" in dry.out
    assert dry.err == ("kept branch four/api: 1 commit(s) in no other branch; integrate (or "
                       "merge) it first, or pass --force\n"
                       "kept worktree .worktrees/four/web: 1 uncommitted or untracked "
                       "file(s) (web/draft.txt): commit them, or pass --force\n"
                       "kept branch four/web: checked out in the worktree "
                       ".worktrees/four/web, which stays\n")
    assert "would delete branch four/web" not in dry.out
    assert (four / ".worktrees/four/api").exists()
    forced = cli("clean", "--force")
    assert forced.code == 0, forced
    assert git(four, "branch", "--list", "four/*") == ""
    assert not (four / ".worktrees/four").exists()
    (archive,) = (four / ".worktrees/.archive").iterdir()
    assert (archive / "sessions.json").is_file()


def test_check_finds_a_file_folder_conflict_between_different_paths(four: Path,
                                                                      cli: Cli) -> None:
    work(four, "api", {"api/a.txt": "a", "thing": "a file\n"})
    work(four, "web", {"web/w.txt": "w", "thing/inside.txt": "a folder\n"})
    work(four, "cli", {"cli/c.txt": "c"})
    predicted = json.loads(cli("check", "--json").out)
    (pair,) = predicted["pairs"]  # git names the file it had to move aside `thing~<commit>`
    assert (pair["a"], pair["b"], [f.split("~")[0] for f in pair["files"]]) == (
        "api", "web", ["thing"])


def test_a_broken_report_template_stops_integrate_before_any_merge(four: Path,
                                                                   cli: Cli) -> None:
    work(four, "api", {"api/a.txt": "api\n"})
    write(four, {".dispatch/templates/INTEGRATION.md.j2": "{{ }}\n"})
    result = cli("integrate")
    assert (result.code, result.out) == (1, ""), result
    assert result.err.startswith("dispatch: error: the repository's template "
                                 ".dispatch/templates/INTEGRATION.md.j2 line 1 fails: ")
    assert result.err.endswith("; fix it, or remove it to use the built-in one\n")
    assert git(four, "branch", "--list", "four/integration") == ""
    assert json.loads((four / ".worktrees/four/sessions.json").read_text())["integration"] is None


def test_a_report_template_that_fails_while_rendering_names_it(four: Path, cli: Cli) -> None:
    work(four, "api", {"api/a.txt": "api\n"})
    write(four, {".dispatch/templates/INTEGRATION.md.j2": "{{ no_such_thing.x }}\n"})
    result = cli("integrate")
    assert result.code == 1, result
    assert result.err == (
        "dispatch: error: the repository's template .dispatch/templates/INTEGRATION.md.j2 "
        "fails: 'no_such_thing' is undefined; fix it, or remove it to use the built-in one\n")
    assert merges(four)["api"]["status"] == "merged"  # recorded: a rerun writes the report
    (four / ".dispatch/templates/INTEGRATION.md.j2").unlink()
    assert cli("integrate").code == 0
    assert (four / ".worktrees/four/INTEGRATION.md").is_file()


def test_commits_that_no_workstream_brought_are_named_until_reverted(four: Path,
                                                                     cli: Cli) -> None:
    work(four, "api", {"api/a.txt": "api\n"})
    first = cli("integrate", "--json")
    assert json.loads(first.out)["foreign_commits"] == []  # dispatch's own merge is not one
    integration = four / ".worktrees/four/integration"
    # A person, or a worker that got there:
    stranger = commit(integration, {"hotfix.txt": "by hand\n"}, "fix the build by hand")
    work(four, "web", {"web/w.txt": "web\n"})

    second = cli("integrate")
    assert second.code == 0, second
    assert second.out.splitlines()[2] == (
        f"not made by dispatch: 1 commit on four/integration that no workstream brought "
        f"({stranger[:10]} 'fix the build by hand'); see INTEGRATION.md before merging the "
        "branch")
    report = (four / ".worktrees/four/INTEGRATION.md").read_text()
    assert "## Commits no workstream brought\n\n" in report
    assert f"- `{stranger[:10]}` fix the build by hand\n" in report
    assert "- Review the 1 commit on `four/integration` that no workstream brought" in report
    assert json.loads(cli("integrate", "--json").out)["foreign_commits"] == [
        {"commit": stranger, "subject": "fix the build by hand"}]

    git(integration, "revert", "--no-edit", stranger)  # taken out as the report advises
    third = cli("integrate")
    assert "not made by dispatch" not in third.out, third
    assert "Commits no workstream brought" not in (
        four / ".worktrees/four/INTEGRATION.md").read_text()


def test_a_branch_taken_over_with_force_keeps_its_own_commits_unremarked(four: Path,
                                                                        cli: Cli) -> None:
    git(four, "branch", "four/integration")
    git(four, "checkout", "-q", "four/integration")
    commit(four, {"release-notes.txt": "theirs\n"}, "the owner's own commit")
    git(four, "checkout", "-q", "-")
    work(four, "api", {"api/a.txt": "api\n"})
    result = cli("integrate", "--force", "--json")
    assert result.code == 0, result
    assert json.loads(result.out)["foreign_commits"] == []


def test_a_report_template_that_is_not_text_or_includes_a_broken_one_is_named(
        four: Path, cli: Cli) -> None:
    work(four, "api", {"api/a.txt": "api\n"})
    templates = four / ".dispatch/templates"
    templates.mkdir(parents=True)
    (templates / "INTEGRATION.md.j2").write_bytes(b"\xff\xfe\x00bad")
    binary = cli("integrate")
    assert (binary.code, binary.err) == (1, (
        "dispatch: error: the repository's template .dispatch/templates/INTEGRATION.md.j2 "
        "fails: it is not UTF-8 text; fix it, or remove it to use the built-in one\n")), binary
    write(four, {".dispatch/templates/INTEGRATION.md.j2": 'ok\n{% include "part.j2" %}\n',
                 ".dispatch/templates/part.j2": "a\nb\n{{ x \n"})
    included = cli("integrate")
    assert included.code == 1, included
    assert included.err.startswith(  # the file the mistake is in, found before any merge
        "dispatch: error: the repository's template .dispatch/templates/part.j2 line 3 fails: ")
    write(four, {".dispatch/templates/INTEGRATION.md.j2": '{% include "nope.j2" %}\n'})
    missing = cli("integrate")
    assert missing.code == 1 and "INTEGRATION.md.j2 fails: 'nope.j2' not found" in missing.err
    assert json.loads((four / ".worktrees/four/sessions.json").read_text())["integration"] is None


def test_a_stray_file_in_an_integration_worktree_without_files_is_still_seen(
        tmp_path: Path, cli: Cli) -> None:
    repo = tmp_path / "bare"
    repo.mkdir()
    git(repo, "init", "-q")
    git(repo, "commit", "-q", "--allow-empty", "-m", "an empty start")
    write(repo, {".git/info/exclude": "specs/\n", "specs/four.md": FOUR})
    assert cli("start", "specs/four.md", "--no-agents", "--no-setup", cwd=repo).code == 0
    work(repo, "api", {"api/a.txt": "api\n"})
    # The merge is taken back out: the integration worktree stays, with no file in it.
    assert cli("integrate", "--verify", "test ! -f api/a.txt", cwd=repo).code == 1
    write(repo, {".worktrees/four/integration/stray.txt": "someone's\n"})
    again = cli("integrate", "--verify", "test ! -f stray.txt", cwd=repo)
    assert again.code == 1, again
    assert "has uncommitted changes (stray.txt)" in again.err, again


def test_a_commit_is_dispatchs_by_what_it_is_not_by_its_subject(four: Path, cli: Cli) -> None:
    work(four, "api", {"api/a.txt": "api\n"})
    assert cli("integrate").code == 0
    integration = four / ".worktrees/four/integration"
    forged = commit(integration, {"evil.sh": "echo\n"}, "Merge api workstream")
    first = commit(integration, {"one.txt": "1\n"}, "fix build")
    second = commit(integration, {"two.txt": "2\n"}, "fix build")
    git(integration, "revert", "--no-edit", first)  # the first one, by its id
    git(integration, "commit", "-q", "--allow-empty", "-m", 'Revert "fix build"')
    reverts_nothing = git(integration, "rev-parse", "HEAD")
    collected = commit(integration, {"g.txt": "g\n", "h.txt": "h\n"}, "Collect x into g.txt")
    named = json.loads(cli("integrate", "--json").out)["foreign_commits"]
    assert [c["commit"] for c in named] == [forged, second, reverts_nothing, collected]


def test_an_already_in_record_does_not_hide_a_commit_by_hand(four: Path, cli: Cli) -> None:
    work(four, "api", {"api/a.txt": "api\n"})
    web = four / ".worktrees/four/web"
    git(web, "merge", "-q", "--no-edit", "four/api")  # web holds api's work
    work(four, "web", {"web/w.txt": "web\n"})
    assert cli("integrate", "--only", "web").code == 0
    by_hand = commit(four / ".worktrees/four/integration", {"h.txt": "h\n"}, "by hand")
    result = cli("integrate", "--json")
    assert merges(four)["api"]["reason"] == "already in the integration branch"
    assert json.loads(result.out)["foreign_commits"] == [
        {"commit": by_hand, "subject": "by hand"}]
