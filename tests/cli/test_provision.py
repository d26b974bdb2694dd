"""`dispatch start --no-agents` on real repositories: what it makes, and what it never touches."""

from __future__ import annotations

import json
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from dotenv import dotenv_values

from tests.support.cli import Result
from tests.support.gitrepo import commit, git, snapshot, write

FIVE = """\
# Five streams
## Workstreams
### Workstream 1: Api (Can start immediately)
**Goal**: Serve the API
**Files**: `app/api.py`
- [ ] Add the endpoint
- Write its tests
### Workstream 2: Web
**Goal**: Show the page
- Render it
### Workstream 3: Cli
**Goal**: Add the command
- Parse {{ args }} literally
### Workstream 4: Docs
**Goal**: Write docs
- Document
### Workstream 5: Release (After workstreams 1-4)
**Goal**: Ship it
- Tag
"""

Cli = Callable[..., Result]


@pytest.fixture
def project(repo: Path) -> Path:
    """A multi-file repository with an ignored .env holding ports and a secret."""
    files = {f"app/module_{i}.py": f"VALUE = {i}\n" for i in range(40)}
    files.update({".gitignore": ".env\n", "specs/five.md": FIVE})
    commit(repo, files, "project files")
    write(repo, {".env": "# local settings\nPORT=8000\nDB_PORT=5432\nSECRET=sentinel-7f3a\n"})
    return repo


def state_of(repo: Path, feature: str = "five") -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (repo / ".worktrees" / feature / "sessions.json").read_text())
    return data


def test_start_no_agents_builds_five_workstreams(project: Path, cli: Cli) -> None:
    write(project, {"app/module_1.py": "VALUE = 'edited, not committed'\n", "scratch.txt": "x"})
    before = snapshot(project)
    result = cli("start", "@specs/five.md", "--no-agents")
    assert result.code == 0, result
    assert snapshot(project, "five") == before  # the user's branch, index, files: untouched

    names = ["api", "web", "cli", "docs", "release"]
    base = git(project, "rev-parse", "HEAD")
    for name in names:
        worktree = project / ".worktrees" / "five" / name
        assert git(worktree, "rev-parse", "--abbrev-ref", "HEAD") == f"five/{name}"
        assert git(worktree, "rev-parse", "HEAD") == base
        assert git(worktree, "status", "--porcelain") == ""  # .env and .workstream/ ignored
        assert (worktree / "app" / "module_39.py").read_text() == "VALUE = 39\n"
    envs = [dotenv_values(project / ".worktrees" / "five" / n / ".env") for n in names]
    assert [(e["PORT"], e["DB_PORT"]) for e in envs] == [
        ("8001", "5433"), ("8002", "5434"), ("8003", "5435"), ("8004", "5436"),
        ("8005", "5437")]
    assert all(e["SECRET"] == "sentinel-7f3a" for e in envs)
    assert (project / ".worktrees/five/api/.env").read_text().startswith("# local settings\n")

    tasks = (project / ".worktrees/five/api/.workstream/TASKS.md").read_text()
    assert "## Mission\n\nServe the API\n" in tasks
    assert "- [ ] Add the endpoint\n- [ ] Write its tests\n" in tasks
    cli_tasks = (project / ".worktrees/five/cli/.workstream/TASKS.md").read_text()
    assert "- [ ] Parse {{ args }} literally\n" in cli_tasks
    coordination = (project / ".worktrees/five/COORDINATION.md").read_text()
    assert "| 5 | `release` | `five/release` | - | PORT=8005, DB_PORT=5437 | api, web, cli, " \
           "docs |" in coordination

    state = state_of(project)
    assert state["schema_version"] == 1 and state["base"] == base
    records = state["workstreams"]
    assert isinstance(records, dict) and list(records) == names
    assert records["release"]["depends_on"] == ["api", "web", "cli", "docs"]
    assert {r["status"] for r in records.values()} == {"pending"}
    assert records["api"]["session_id"] is None
    assert "sentinel-7f3a" not in result.out + result.err
    assert "/.worktrees/" in (project / ".git/info/exclude").read_text().splitlines()


def test_running_start_again_changes_nothing(project: Path, cli: Cli) -> None:
    assert cli("start", "specs/five.md", "--no-agents").code == 0
    tree = project / ".worktrees"

    def mtimes() -> dict[Path, int]:  # lock files only hold the pid of their last user
        return {p: p.stat().st_mtime_ns for p in tree.rglob("*")
                if ".git" not in p.parts and p.suffix != ".lock" and p != tree / "five"}

    before = mtimes()
    refs = git(project, "for-each-ref")
    again = cli("start", "specs/five.md", "--no-agents")
    assert again.code == 0, again
    assert mtimes() == before
    assert git(project, "for-each-ref") == refs
    by_name = cli("start", "five", "--no-agents")  # continuing by feature name is the same
    assert by_name.code == 0 and "five/<workstream>" in by_name.out


def test_worker_commits_leave_task_files_out_of_merges(project: Path, cli: Cli) -> None:
    assert cli("start", "specs/five.md", "--no-agents").code == 0
    for name in ("api", "web"):
        worktree = project / ".worktrees" / "five" / name
        write(worktree, {".workstream/RESULTS.md": f"# {name} results\n",
                         f"app/{name}.py": "done = True\n"})
        tasks = worktree / ".workstream" / "TASKS.md"
        tasks.write_text(tasks.read_text().replace("- [ ]", "- [x]"))
        git(worktree, "add", "-A")
        git(worktree, "commit", "-q", "-m", f"{name} work")
        assert git(worktree, "show", "--name-only", "--format=", "HEAD") == f"app/{name}.py"
    git(project, "worktree", "add", "-q", "-b", "merged", str(project.parent / "m"), "HEAD")
    merged = project.parent / "m"
    git(merged, "merge", "-q", "--no-ff", "-m", "m1", "five/api")
    git(merged, "merge", "-q", "--no-ff", "-m", "m2", "five/web")
    assert sorted(git(merged, "ls-files").splitlines()) == sorted(
        [".gitignore", "README.md", "app/__init__.py", "app/main.py", "app/api.py",
         "app/web.py", "specs/five.md", *[f"app/module_{i}.py" for i in range(40)]])


def test_tracked_env_is_kept_out_of_worker_commits(repo: Path, cli: Cli) -> None:
    commit(repo, {".env": "PORT=9000\n", "s.md": FIVE}, "tracked env")
    result = cli("start", "s.md", "--no-agents")
    assert result.code == 0, result
    assert "warning: .env is tracked by git" in result.err
    worktree = repo / ".worktrees/s/web"
    assert dotenv_values(worktree / ".env")["PORT"] == "9002"
    assert git(worktree, "status", "--porcelain") == ""
    git(worktree, "commit", "-q", "-am", "nothing", "--allow-empty")
    assert git(repo, "show", "s/web:.env") == "PORT=9000"


def test_untracked_unignored_env_is_excluded(repo: Path, cli: Cli) -> None:
    commit(repo, {"s.md": FIVE})
    write(repo, {".env": "PORT=7000\nTOKEN=sentinel-7f3a\n"})
    result = cli("start", "s.md", "--no-agents")
    assert result.code == 0, result
    worktree = repo / ".worktrees/s/api"
    git(worktree, "add", "-A")
    assert git(worktree, "diff", "--cached", "--name-only") == ""
    assert "/.env" in (repo / ".git/info/exclude").read_text().splitlines()


def test_ports_skip_busy_ones_and_other_features(project: Path, cli: Cli) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 8101))
        busy.listen()
        result = cli("start", "specs/five.md", "--no-agents", "--base-port", "8100")
        write(project, {"specs/other.md": "## Workstreams\n### One\n- a\n### Two\n- b\n"})
        other = cli("start", "specs/other.md", "--no-agents", "--base-port", "8100")
    assert (result.code, other.code) == (0, 0), (result, other)
    five = state_of(project)["workstreams"]
    assert isinstance(five, dict)
    assert [r["ports"]["PORT"] for r in five.values()] == [8102, 8103, 8104, 8105, 8106]
    second = state_of(project, "other")["workstreams"]
    assert isinstance(second, dict)
    assert [r["ports"] for r in second.values()] == [
        {"PORT": 8107, "DB_PORT": 5439}, {"PORT": 8108, "DB_PORT": 5440}]


def test_setup_runs_in_each_worktree_and_failures_are_recorded(project: Path, cli: Cli) -> None:
    command = 'echo "port $PORT" > setup.out; test "$PORT" != 8003'
    result = cli("start", "specs/five.md", "--no-agents", "--setup", command)
    assert result.code == 0, result
    records = state_of(project)["workstreams"]
    assert isinstance(records, dict)
    assert {n: r["setup"]["status"] for n, r in records.items()} == {
        "api": "ok", "web": "ok", "cli": "failed", "docs": "ok", "release": "ok"}
    assert records["cli"]["setup"]["exit_code"] == 1
    log = project / records["cli"]["setup"]["log"]
    assert log.read_text() == f"$ {command}\n"
    assert (project / ".worktrees/five/cli/setup.out").read_text() == "port 8003\n"
    assert "failed (see .worktrees/five/logs/cli.setup.log)" in result.out


def test_missing_setup_command_is_recorded(project: Path, cli: Cli) -> None:
    result = cli("start", "specs/five.md", "--no-agents", "--setup", "no-such-tool-xyz --go")
    assert result.code == 0, result
    records = state_of(project)["workstreams"]
    assert isinstance(records, dict)
    assert {r["setup"]["exit_code"] for r in records.values()} == {127}
    assert "not found" in (project / records["api"]["setup"]["log"]).read_text()


def test_repo_template_override(project: Path, cli: Cli) -> None:
    write(project, {".dispatch/templates/TASKS.md.j2": "custom {{ ws.name }}: {{ ws.goal }}\n"})
    assert cli("start", "specs/five.md", "--no-agents").code == 0
    assert (project / ".worktrees/five/web/.workstream/TASKS.md").read_text() == \
        "custom web: Show the page\n"


def test_new_name_creates_a_spec_skeleton(repo: Path, cli: Cli) -> None:
    result = cli("start", "voice-search")
    assert result.code == 0, result
    (spec,) = (repo / "specs").glob("*_voice-search.md")
    assert result.out.startswith(f"Created specs/{spec.name}.\n")
    assert not (repo / ".worktrees").exists()
    untouched = cli("plan", f"specs/{spec.name}")  # never a paid session on "A concrete task"
    assert (untouched.code, untouched.err) == (1, (
        f"dispatch: error: specs/{spec.name}:15: workstream 'first-part' still holds the "
        "skeleton's placeholder text (line(s) 15, 16, 17, 18): replace it with the real goal, "
        "files and tasks, or delete that workstream\n"))
    text = spec.read_text()
    for placeholder, real in (("**Goal**: ...", "**Goal**: Index the catalogue."),
                              ("What this workstream delivers, in one sentence.", "Search it."),
                              ("`path/owned/by/this/workstream/**`", "`search/**`"),
                              ("`another/path/**`", "`index/**`"),
                              ("A concrete task", "Build it"), ("Another task", "Test it"),
                              ("A task that needs the first two", "Wire them")):
        text = text.replace(placeholder, real)
    spec.write_text(text)
    planned = cli("plan", f"specs/{spec.name}", "--json")
    assert json.loads(planned.out)["feature"] == "voice-search"


def test_runs_from_a_subfolder(project: Path, cli: Cli) -> None:
    result = cli("start", "../specs/five.md", "--no-agents", cwd=project / "app")
    assert result.code == 0, result
    assert (project / ".worktrees/five/api").is_dir()


# --- guards: one line, exit 1, nothing created ----------------------------------------

@pytest.fixture
def unchanged(project: Path) -> Iterator[None]:
    before = snapshot(project)
    yield
    assert snapshot(project) == before
    assert not (project / ".worktrees").exists()


def expect_refusal(cli: Cli, message: str, *args: str) -> None:
    result = cli("start", "specs/five.md", "--no-agents", *args)
    assert (result.code, result.out) == (1, ""), result
    assert result.err == f"dispatch: error: {message}\n"


@pytest.mark.usefixtures("unchanged")
def test_refuses_a_bad_base(cli: Cli) -> None:
    expect_refusal(cli, "base 'nope' does not name a commit; pass an existing branch, tag or "
                        "commit to --base (see 'git branch -a')", "--base", "nope")


def test_refuses_during_a_merge(project: Path, cli: Cli) -> None:
    (project / ".git" / "MERGE_HEAD").write_text(git(project, "rev-parse", "HEAD"))
    expect_refusal(cli, f"a merge is in progress in {project}; finish it first ('git merge "
                        "--continue' or 'git merge --abort')")
    assert not (project / ".worktrees").exists()


def test_refuses_when_a_branch_blocks_the_names(project: Path, cli: Cli) -> None:
    git(project, "branch", "five")
    before = snapshot(project)
    expect_refusal(cli, "branch 'five/api' cannot be created because branch 'five' exists; "
                        "rename one ('git branch -m five <new>') or set 'feature:' in the "
                        "spec's frontmatter")
    assert snapshot(project) == before and not (project / ".worktrees").exists()


def test_foreign_branch_with_commits_is_refused_then_adopted_with_force(project: Path,
                                                                       cli: Cli) -> None:
    git(project, "checkout", "-q", "-b", "five/web")
    tip = commit(project, {"web.txt": "someone's work\n"}, "their commit")
    git(project, "checkout", "-q", "main")
    before = snapshot(project)
    expect_refusal(cli, "branch 'five/web' already exists with 1 commit(s) not in the base and "
                        "was not made by this feature; rename or delete it yourself, or pass "
                        "--force to adopt it as it is")
    assert snapshot(project) == before and not (project / ".worktrees").exists()
    result = cli("start", "specs/five.md", "--no-agents", "--force")
    assert result.code == 0, result
    assert git(project, "rev-parse", "five/web") == tip  # adopted as it is, never reset
    assert (project / ".worktrees/five/web/web.txt").read_text() == "someone's work\n"


def test_foreign_folder_in_the_worktree_path_is_refused(project: Path, cli: Cli) -> None:
    write(project, {".worktrees/five/docs/notes.txt": "mine\n"})
    expect_refusal(cli, ".worktrees/five/docs exists but is not the worktree of 'five/docs'; "
                        "move it away and run dispatch start again")
    assert (project / ".worktrees/five/docs/notes.txt").read_text() == "mine\n"
    assert git(project, "branch", "--list", "five/*") == ""


def test_failed_registration_is_rolled_back_and_a_rerun_completes(
        project: Path, cli: Cli, immutable: Callable[[Path], None]) -> None:
    blocked = project / ".worktrees/five/cli"
    blocked.mkdir(parents=True)
    immutable(blocked)  # git cannot write the worktree's .git file there
    result = cli("start", "specs/five.md", "--no-agents")
    assert result.code == 1 and result.err.startswith("dispatch: error: git worktree add")
    assert git(project, "branch", "--list", "five/cli") == ""  # the branch it made is gone
    records = state_of(project)["workstreams"]
    assert isinstance(records, dict)
    assert {n: r["status"] for n, r in records.items()} == {  # the next run finishes them
        "api": "provisioning", "web": "provisioning", "cli": "provisioning",
        "docs": "provisioning", "release": "provisioning"}
    subprocess.run(["chattr", "-i", str(blocked)], check=True)
    again = cli("start", "specs/five.md", "--no-agents")
    assert again.code == 0, again
    assert {r["status"] for r in state_of(project)["workstreams"].values()} == {"pending"}
    assert git(project, "worktree", "list").count(".worktrees/five/") == 5


def test_a_second_start_of_a_busy_feature_says_so(project: Path, cli: Cli) -> None:
    from dispatch.state.locks import FileLock

    (project / ".worktrees/five").mkdir(parents=True)
    with FileLock(project / ".worktrees/five/.start.lock"):
        result = cli("start", "specs/five.md", "--no-agents")
    assert (result.code, result.err) == (
        1, "dispatch: error: feature 'five' is busy: another 'dispatch start' is provisioning "
           f"it (pid {__import__('os').getpid()}); wait for it to finish, then run this again\n")
    assert git(project, "branch", "--list", "five/*") == ""


def test_worktree_paths_longer_than_the_os_allows(project: Path, cli: Cli) -> None:
    room = 4090 - len(str(project)) - len("/file.txt")  # fits in the checkout, not a worktree
    parts = ["d" * 200] * (room // 201) + ["e" * (room % 201 - 1)]
    deep = "/".join(parts) + "/file.txt"
    assert 4070 < len(str(project / deep)) < 4096
    commit(project, {deep: "x"}, "deep file")
    before = snapshot(project)
    result = cli("start", "specs/five.md", "--no-agents")
    assert result.code == 1
    assert result.err.startswith("dispatch: error: worktree paths for 'api' would be ")
    assert result.err.endswith("characters long (the limit is 4096); move the repository to a "
                               "shorter path or use shorter names\n")
    assert snapshot(project) == before and not (project / ".worktrees").exists()


def test_a_broken_repo_template_stops_start_before_anything_is_made(project: Path,
                                                                    cli: Cli) -> None:
    write(project, {".dispatch/templates/TASKS.md.j2": "{% for %}\n"})
    result = cli("start", "specs/five.md", "--no-agents")
    assert (result.code, result.out) == (1, ""), result
    assert result.err == (
        "dispatch: error: the repository's template .dispatch/templates/TASKS.md.j2 line 1 "
        "fails: Expected an expression, got 'end of statement block'; fix it, or remove it "
        "to use the built-in one\n")
    assert not (project / ".worktrees").exists()
    assert git(project, "branch", "--list", "five/*") == ""


def test_a_mistyped_name_is_not_taken_for_a_new_feature(project: Path, cli: Cli) -> None:
    assert cli("start", "specs/five.md", "--no-agents").code == 0
    for typo, meant in (("fvie", "dispatch start five"),  # the feature
                        ("fiv", "dispatch start five")):
        result = cli("start", typo)
        assert (result.code, result.out) == (1, ""), result
        assert result.err == (
            f"dispatch: error: '{typo}' is neither a spec file nor a feature; did you mean "
            f"`{meant}`? To create a spec skeleton for a new feature '{typo}', run: "
            f"`dispatch start {typo} --new`\n")
    assert not list((project / "specs").glob("*_fvie.md"))
    made = cli("start", "fvie", "--new")
    assert made.code == 0, made
    assert len(list((project / "specs").glob("*_fvie.md"))) == 1
    (project / ".worktrees").rename(project / "moved-away")  # no feature now; the spec is
    assert "`dispatch start specs/five.md`" in cli("start", "fiev").err


def test_files_in_the_template_folder_that_override_nothing_are_left_alone(
        project: Path, cli: Cli) -> None:
    write(project, {".dispatch/templates/notes.j2": "my notes {{ \n"})
    (project / ".dispatch/templates/old.j2").mkdir()
    result = cli("start", "specs/five.md", "--no-agents")
    assert result.code == 0, result
    assert "dispatch: error" not in result.err  # and its TASKS.md came from the built-in one
    assert "Show the page" in (project / ".worktrees/five/web/.workstream/TASKS.md").read_text()


def test_a_suggested_command_is_safe_to_paste(repo: Path, cli: Cli) -> None:
    write(repo, {"specs/billing;id.md": "# B\n", "-webapp.md": "# W\n"})
    for typed, meant in (("billing", "`dispatch start 'specs/billing;id.md'`"),
                         ("webapp", "`dispatch start ./-webapp.md`")):
        result = cli("start", typed)
        assert result.code == 1 and f"did you mean {meant}?" in result.err, result
