"""`dispatch clean` (without --force) never loses work, whatever a worker or a person left:
it removes a worktree only when git itself would and every commit its HEAD reaches stays in
a branch, deletes only the branches dispatch made once they are merged, and removes only the
files it wrote (anything else is archived and named)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from dispatch.core import procs
from dispatch.sessions import client
from dispatch.state.paths import FeaturePaths
from tests.support.cli import Result
from tests.support.fakes import FakeClaude
from tests.support.gitrepo import commit, git, snapshot, write
from tests.support.integrate import FOUR, work

Cli = Callable[..., Result]
ONE = "# One\n## Workstreams\n### Api\n**Files**: `api/**`\n- [ ] serve\n"


def reachable(repo: Path, commit_id: str) -> bool:
    """Whether some ref (branch, tag, a worktree's HEAD) still reaches the commit."""
    out = git(repo, "rev-list", "--all", "--reflog")
    heads = git(repo, "worktree", "list", "--porcelain")
    return commit_id in out.split() or commit_id in heads


@pytest.mark.parametrize("where", [".worktrees/one", ".worktrees"])
def test_start_refuses_a_feature_folder_inside_a_persons_own_worktree(
        repo: Path, cli: Cli, where: str) -> None:
    commit(repo, {"specs/one.md": ONE})
    git(repo, "worktree", "add", "-q", "-b", "mine", where)
    (repo / where / "notes.txt").write_text("my uncommitted notes\n")
    before = snapshot(repo)
    result = cli("start", "specs/one.md", "--no-agents")
    assert result.code == 1
    assert result.err.startswith("dispatch: error: .worktrees/one is inside a git worktree "
                                 "that dispatch did not make (")
    assert "on branch mine); dispatch keeps its features there: move that worktree away" \
        in result.err
    assert snapshot(repo) == before
    assert (repo / where / "notes.txt").read_text() == "my uncommitted notes\n"
    assert not list((repo / where).glob(".*.lock")) and not (repo / where / "one").exists()


def test_start_refuses_a_feature_folder_that_holds_someone_elses_files(
        repo: Path, cli: Cli) -> None:
    commit(repo, {"specs/one.md": ONE})
    write(repo, {".worktrees/one/plan-notes.md": "mine\n"})
    result = cli("start", "specs/one.md", "--no-agents")
    assert (result.code, result.err) == (1, (
        "dispatch: error: .worktrees/one already holds files that dispatch did not write "
        "(plan-notes.md); move them away, or name the feature differently ('feature:' in the "
        "spec)\n"))


def test_a_worktree_whose_head_diverged_from_its_branch_is_kept(
        repo: Path, cli: Cli, fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/one.md": ONE})
    fake_claude.script({"api": [{"do": "diverge"}]})
    assert cli("start", "specs/one.md", "--wait", "--no-follow-up").code == 1
    worktree = repo / ".worktrees/one/api"
    head = git(worktree, "rev-parse", "HEAD")
    dry = cli("clean", "--dry-run")
    cleaned = cli("clean")
    assert cleaned.code == 1 and dry.err == cleaned.err
    assert f"kept worktree .worktrees/one/api: its detached HEAD {head[:10]} holds 1 " \
           "commit(s) that no branch that stays has" in cleaned.err
    assert git(worktree, "rev-parse", "HEAD") == head  # still there, still reachable
    assert reachable(repo, head)


def test_files_dispatch_did_not_write_are_archived_and_named(
        repo: Path, cli: Cli) -> None:
    feature = _four_merged(repo, cli)
    (feature / "NOTES-from-a-worker.md").write_text("a worker's note\n")
    (feature / "scratch").mkdir()
    (feature / "scratch/idea.txt").write_text("idea\n")
    dry = cli("clean", "--dry-run")
    assert "would move .worktrees/four/NOTES-from-a-worker.md (not dispatch's) into the " \
           "archive" in dry.out
    assert "would move .worktrees/four/scratch (not dispatch's) into the archive" in dry.out
    cleaned = cli("clean")
    assert cleaned.code == 0, cleaned
    (archive,) = (repo / ".worktrees/.archive").iterdir()
    assert (archive / "other/NOTES-from-a-worker.md").read_text() == "a worker's note\n"
    assert (archive / "other/scratch/idea.txt").read_text() == "idea\n"
    assert "moved .worktrees/four/scratch (not dispatch's) to " in cleaned.out


def test_a_worktree_someone_added_inside_the_feature_folder_is_never_removed(
        repo: Path, cli: Cli) -> None:
    commit(repo, {"specs/one.md": ONE})
    assert cli("start", "specs/one.md", "--no-agents").code == 0
    own = repo / ".worktrees/one/experiment"
    git(repo, "worktree", "add", "-q", "-b", "experiment", str(own))
    (own / "draft.txt").write_text("uncommitted\n")
    for args in (("clean",), ("clean", "--force")):
        result = cli(*args)
        assert result.code == 1
        assert "kept worktree .worktrees/one/experiment: dispatch did not make it" in result.err
        assert (own / "draft.txt").read_text() == "uncommitted\n"


def test_a_branch_named_in_the_spec_that_exists_is_never_moved_nor_deleted(
        repo: Path, cli: Cli) -> None:
    git(repo, "branch", "release-1.0")
    old = git(repo, "rev-parse", "release-1.0")
    commit(repo, {"specs/one.md": ONE.replace("- [ ] serve", "**Branch**: release-1.0\n"
                                               "- [ ] serve")})
    refused = cli("start", "specs/one.md", "--no-agents")
    assert refused.code == 1
    assert "branch 'release-1.0' (the **Branch** of workstream 'api') already exists and " \
           "dispatch did not make it" in refused.err
    assert cli("start", "specs/one.md", "--no-agents", "--force").code == 0
    assert git(repo, "rev-parse", "release-1.0") == old  # adopted as it is
    cleaned = cli("clean")
    assert cleaned.code == 0, cleaned
    assert "deleted branch" not in cleaned.out
    assert git(repo, "rev-parse", "release-1.0") == old


def _four_merged(repo: Path, cli: Cli) -> Path:
    """Feature four with every workstream's work merged; its folder."""
    commit(repo, {"specs/four.md": FOUR})
    assert cli("start", "specs/four.md", "--no-agents").code == 0
    for name in ("api", "web", "cli", "docs"):
        work(repo, name, {f"{name}/x.txt": name})
    assert cli("integrate").code == 0
    return repo / ".worktrees/four"


def _integrated_four(repo: Path, cli: Cli) -> Path:
    """Feature four, every workstream's work merged, and a person's edit of INTEGRATION.md
    that the next integrate kept aside (INTEGRATION.<stamp>.md: not dispatch's)."""
    feature = _four_merged(repo, cli)
    with (feature / "INTEGRATION.md").open("a") as report:
        report.write("Reviewed by Ana\n")
    assert cli("integrate").code == 0
    return feature


def test_the_dry_run_names_every_worktree_branch_and_file_with_its_reason(
        repo: Path, cli: Cli) -> None:
    feature = _integrated_four(repo, cli)
    (aside,) = feature.glob("INTEGRATION.*.md")
    # What a killed `integrate --batch` leaves: a detached scratch worktree, here beside a
    # note that is nobody's of dispatch's.
    git(repo, "worktree", "add", "-q", "--detach", str(feature / ".verify/1"),
        "four/integration")
    (feature / ".verify/1/half-built.o").write_text("verify output\n")
    (feature / ".verify/notes.txt").write_text("a person's note\n")
    dry = cli("clean", "--dry-run")
    safe = ("nothing uncommitted or untracked, and every commit of its HEAD is in a branch "
            "that stays")
    merged = "dispatch made it, and every commit on it is in a branch that stays"
    assert (dry.code, dry.err) == (0, "")
    assert dry.out.splitlines() == [
        "would remove scratch worktree .worktrees/four/.verify/1 (integrate --batch's, "
        "detached: nobody's work)",
        *[line for name in ("api", "web", "cli", "docs") for line in (
            f"would remove worktree .worktrees/four/{name} ({safe})",
            f"would move .worktrees/four/{name}/.workstream/ (RESULTS.md, TASKS.md) into "
            "the archive")],
        f"would remove worktree .worktrees/four/integration ({safe})",
        *[f"would delete branch four/{name} ({merged})" for name in
          ("api", "cli", "docs", "web")],
        "would keep branch four/integration (the integration branch stays unless --all)",
        f"would move .worktrees/four/{aside.name} (not dispatch's) into the archive",
        "would move .worktrees/four/.verify/notes.txt (not dispatch's) into the archive",
        "would archive the state, logs and results under .worktrees/.archive/"]
    cleaned = cli("clean")
    assert cleaned.code == 0, cleaned
    assert "removed scratch worktree .worktrees/four/.verify/1 (integrate --batch's)\n" \
        in cleaned.out
    assert f"moved .worktrees/four/{aside.name} (not dispatch's) to " in cleaned.out
    (archive,) = (repo / ".worktrees/.archive").iterdir()
    assert "Reviewed by Ana" in (archive / "other" / aside.name).read_text()
    assert (archive / "other/.verify/notes.txt").read_text() == "a person's note\n"
    assert ".verify" not in git(repo, "worktree", "list", "--porcelain")
    assert not feature.exists()


def test_a_scratch_worktree_someone_put_on_a_branch_is_kept(repo: Path, cli: Cli) -> None:
    feature = _integrated_four(repo, cli)
    scratch = feature / ".verify/1"
    git(repo, "worktree", "add", "-q", "-b", "try-it", str(scratch), "four/integration")
    cleaned = cli("clean")
    assert cleaned.code == 1
    assert cleaned.err == ("kept worktree .worktrees/four/.verify/1: it is on branch try-it, "
                           "and integrate --batch's scratch worktrees are detached; remove it "
                           "yourself\n")
    assert git(scratch, "rev-parse", "--abbrev-ref", "HEAD") == "try-it"


def _refs_and_worktrees(repo: Path) -> tuple[str, str]:
    return (git(repo, "for-each-ref", "--format=%(refname) %(objectname)"),
            git(repo, "worktree", "list", "--porcelain"))


def test_clean_refuses_while_the_supervisor_runs(repo: Path, cli: Cli,
                                                 fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/one.md": ONE})
    fake_claude.script({"api": [{"sleep": 30}, {"do": "work"}]})
    assert cli("start", "specs/one.md").code == 0
    before = _refs_and_worktrees(repo)
    pid = client.supervisor_pid(FeaturePaths(repo, "one"))
    assert pid is not None
    for args in (("clean", "--dry-run"), ("clean",), ("clean", "--force")):
        refused = cli(*args)
        assert (refused.code, refused.out, refused.err) == (1, "", (
            f"dispatch: error: feature 'one' is running (its supervisor is pid {pid}); stop "
            "it with 'dispatch stop --feature one', then clean again (nothing was "
            "changed)\n"))
    assert _refs_and_worktrees(repo) == before  # (the running session writes its logs)
    assert procs.is_alive(pid, None) and not (repo / ".worktrees/.archive").exists()
    assert cli("stop", "--feature", "one").code == 0
    cleaned = cli("clean")
    assert cleaned.code == 0, cleaned
    assert not (repo / ".worktrees/one").exists()


def test_clean_refuses_while_a_landing_runs(repo: Path, cli: Cli) -> None:
    commit(repo, {"specs/one.md": ONE})
    assert cli("start", "specs/one.md", "--no-agents").code == 0
    before = snapshot(repo)
    # A stand-in with the command line the autopilot gives its landing process (the real
    # one would merge and finish; this one waits, as a long verify does).
    landing = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", "-m",
                                "dispatch.integration.landing", str(repo), "one", "api"])
    try:
        refused = cli("clean")
        assert (refused.code, refused.err) == (1, (
            f"dispatch: error: feature 'one' is landing work in its integration branch (pid "
            f"{landing.pid}); wait for it to finish (see 'dispatch status'), then clean "
            "again (nothing was changed)\n"))
        assert snapshot(repo) == before
    finally:
        landing.kill()
        landing.wait()
    assert cli("clean").code == 0


def test_a_worktree_whose_worker_committed_its_workstream_files_is_removed(
        repo: Path, cli: Cli) -> None:
    """The files are tracked: the worktree goes (git would take it), and they are archived
    all the same (moving them away first would look to git like deleting them)."""
    commit(repo, {"specs/one.md": ONE})
    assert cli("start", "specs/one.md", "--no-agents").code == 0
    worktree = repo / ".worktrees/one/api"
    work(repo, "api", {"api/a.txt": "a\n"}, feature="one")
    git(worktree, "add", "-f", ".workstream/RESULTS.md")
    git(worktree, "commit", "-q", "-m", "api: with my notes")
    assert cli("integrate").code == 0
    cleaned = cli("clean")
    assert cleaned.code == 0, cleaned
    assert not worktree.exists()
    (archive,) = (repo / ".worktrees/.archive").iterdir()
    assert (archive / "workstreams/api/RESULTS.md").read_text() == \
        "# api\n\nResults of api.\n"


def test_what_clean_keeps_is_said_on_whole_lines_with_a_workers_names_made_visible(
        repo: Path, cli: Cli) -> None:
    """Read piped (by Claude Code): no wrapping at 80 columns, no escape sequence let through
    from a file name a worker chose."""
    commit(repo, {"specs/one.md": ONE})
    assert cli("start", "specs/one.md", "--no-agents").code == 0
    name = "a-rather-long-name-for-a-draft-of-the-api\x1b]0;pwned\x07.txt"
    (repo / ".worktrees/one/api" / name).write_text("uncommitted\n")
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    piped = subprocess.run([sys.executable, "-m", "dispatch", "clean"], cwd=repo, env=env,
                           capture_output=True, text=True, check=False)
    assert (piped.returncode, piped.stderr) == (1, (
        "kept worktree .worktrees/one/api: 1 uncommitted or untracked file(s) ("
        "a-rather-long-name-for-a-draft-of-the-api\\x1b]0;pwned\\x07.txt): commit them, or "
        "pass --force\n"
        "kept branch one/api: checked out in the worktree .worktrees/one/api, which stays\n"))


@pytest.mark.usefixtures("fake_claude")
def test_clean_keeps_a_branch_a_worker_moved_back_from_its_recorded_work(
        repo: Path, cli: Cli) -> None:
    """The done check recorded the branch's tip; then the worker (in a later round) reset the
    branch to the base. Only the branch's reflog still holds that work: clean keeps it."""
    commit(repo, {"specs/one.md": ONE})
    assert cli("start", "specs/one.md", "--wait", "--no-setup").code == 0
    worktree = repo / ".worktrees/one/api"
    done = git(repo, "rev-parse", "one/api")
    git(worktree, "reset", "-q", "--hard", git(repo, "rev-parse", "main"))
    git(worktree, "commit", "-q", "--allow-empty", "-m", "start over")
    result = cli("clean")
    assert result.code == 1
    assert (f"kept branch one/api: sessions.json recorded its commit {done[:10]}, which no "
            "branch holds now (was the branch moved back?); keep it (git branch <name> "
            f"{done[:10]}), or pass --force") in result.err
    assert git(repo, "rev-parse", "one/api") != done
    assert done in git(repo, "reflog", "show", "--format=%H", "one/api")
