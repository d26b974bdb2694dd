"""A hostile and broken input corpus: names that try to become paths, refs or options, broken
specs, .env files and repositories, a misbehaving `claude`, and state damaged by hand.

Every refusal exits 1 (or 2 for a usage error) with one line that says what to do, prints no
traceback, and leaves the repository and .worktrees/ exactly as they were (tables in
tests/support/hostile_cases.py). Inputs that are allowed (Jinja in a spec, a detached HEAD, a dirty
checkout, a worktree deleted by hand, a claude that crashes) are checked to work. Every
refusal is checked against its whole message: a part of it would still pass with the advice
on what to do gone.
"""

from __future__ import annotations

import json
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path

import psutil
import pytest

from tests.support import hostile_cases as hc
from tests.support.cli import Result
from tests.support.fakes import FakeClaude
from tests.support.gitrepo import commit, git, make_repo, snapshot, write
from tests.support.hostile_cases import Case, expect_error, expect_no_traceback, expect_usage
from tests.support.sessions import settle

Cli = Callable[..., Result]


def params(cases: list[Case]) -> list[object]:
    return [pytest.param(case, id=case.id) for case in cases]


@pytest.fixture(autouse=True)
def crash_logs_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """dispatch saves the traceback of a crash in the temp folder: keep those in tmp_path."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))


@pytest.fixture
def fresh(repo: Path) -> Path:
    """A repository with a two-workstream spec and no .worktrees/ yet."""
    commit(repo, {"specs/two.md": hc.TWO}, "spec")
    return repo


@pytest.fixture
def two(fresh: Path, cli: Cli, fake_claude: FakeClaude) -> Path:
    """Feature 'two' provisioned (api, web: pending, never run); a fake claude installed."""
    del fake_claude
    result = cli("start", "specs/two.md", "--no-agents")
    assert result.code == 0, result
    return fresh


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Feature 'two' provisioned once per module (and xdist worker) under a sealed git, for
    the refusals: each one checks that it changed nothing, so they can share it."""
    from dispatch.cli import main

    home = tmp_path_factory.mktemp("shared-home")
    (home / ".gitconfig").write_text("[user]\n\tname = Test User\n\temail = test@example.com\n"
                                     "[init]\n\tdefaultBranch = main\n")
    with pytest.MonkeyPatch.context() as patch:
        for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "DISPATCH_DEBUG"):
            patch.delenv(name, raising=False)
        for key, value in {"HOME": str(home), "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"),
                           "GIT_CONFIG_NOSYSTEM": "1", "COLUMNS": "200", "NO_COLOR": "1",
                           "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
                           "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z"}.items():
            patch.setenv(key, value)
        repo = make_repo(tmp_path_factory.mktemp("shared") / "repo",
                         {"README.md": "# project\n", "app/main.py": "print('hi')\n",
                          "specs/two.md": hc.TWO})
        patch.chdir(repo)
        assert main(["start", "specs/two.md", "--no-agents"]) == 0
    yield repo




def run_refused(repo: Path, cli: Cli, case: Case) -> None:
    """Arrange the case, run it, check its one line and that nothing changed."""
    write_files(repo, case.files)
    if case.arrange is not None:
        case.arrange(repo)
    before = hc.repo_state(repo)
    result = cli(*case.argv, cwd=repo)
    if case.code == 2:
        expect_usage(result, case.argv[0], case.message)
    else:
        expect_error(result, case.message.replace("{repo}", str(repo)))
    hc.expect_unchanged(repo, before)


def write_files(repo: Path, files: Mapping[str, str | bytes]) -> None:
    for name, content in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


# --- refused before anything exists: names, specs, .env -----------------------------------

@pytest.mark.parametrize("case", params(hc.FEATURE_NAME_CASES + hc.NEW_NAME_CASES))
def test_hostile_feature_names(fresh: Path, cli: Cli, case: Case) -> None:
    run_refused(fresh, cli, case)
    assert not (fresh / ".worktrees").exists()
    assert not list((fresh / "specs").glob("*_*.md"))  # no skeleton spec was made either


@pytest.mark.parametrize("case", params(hc.SPEC_CASES))
def test_broken_specs(fresh: Path, cli: Cli, case: Case) -> None:
    run_refused(fresh, cli, case)
    assert not (fresh / ".worktrees").exists()
    assert git(fresh, "branch", "--list") == "* main"


@pytest.mark.parametrize("case", params(hc.ENV_CASES))
def test_broken_env(fresh: Path, cli: Cli, case: Case) -> None:
    run_refused(fresh, cli, case)
    assert not (fresh / ".worktrees").exists()


@pytest.mark.parametrize(("argv", "command", "error"),
                         [pytest.param(a, c, e, id=i) for i, a, c, e in hc.USAGE_CASES])
def test_usage_errors(fresh: Path, cli: Cli, argv: tuple[str, ...], command: str,
                      error: str) -> None:
    before = hc.repo_state(fresh)
    expect_usage(cli(*argv), command, error)
    hc.expect_unchanged(fresh, before)


# --- refused on a started feature: names of features and workstreams ----------------------

@pytest.mark.parametrize("case", params(hc.FEATURE_ARG_CASES))
@pytest.mark.usefixtures("fake_claude")
def test_hostile_names_on_a_started_feature(started: Path, cli: Cli, case: Case) -> None:
    run_refused(started, cli, case)


def _damage(text: str) -> Callable[[Path], object]:
    return lambda repo: (repo / ".worktrees/two/sessions.json").write_text(text)


def _delete_state(repo: Path) -> None:
    (repo / ".worktrees/two/sessions.json").unlink()


_DAMAGED = (".worktrees/two/sessions.json is damaged (Expecting value: line 1 column 1 "
            "(char 0)); rebuild it from git and the logs with 'dispatch repair two'")
_INVALID = (".worktrees/two/sessions.json is damaged (ValidationError); rebuild it from git "
            "and the logs with 'dispatch repair two'")
_PARTIAL = '{"schema_version": 1, "workstreams": {"api": 5}}'
_NO_BASE = '{"schema_version": 1, "workstreams": {}}'
_GONE = ("feature 'two' has no sessions.json; start it with 'dispatch start <spec>' (or "
         "rebuild it: 'dispatch repair two')")
STATE_CASES = [
    *(Case(f"deleted-{argv[0]}", argv, _GONE, arrange=_delete_state)
      for argv in (("status", "two"), ("resume", "api", "--feature", "two"),
                   ("integrate", "two"), ("logs", "api", "--feature", "two"),
                   ("stop", "two"), ("check", "two"))),
    *(Case(f"emptied-{argv[0]}", argv, _DAMAGED, arrange=_damage(""))
      for argv in (("status", "two", "--json"), ("resume", "api", "--feature", "two"),
                   ("integrate", "two"), ("clean", "two"))),
    Case("partial-record", ("status", "two"), _INVALID, arrange=_damage(_PARTIAL)),
    Case("no-base", ("status", "two", "--json"), _INVALID, arrange=_damage(_NO_BASE)),
]


@pytest.mark.parametrize("case", params(STATE_CASES))
@pytest.mark.usefixtures("fake_claude")
def test_state_damaged_by_hand(started: Path, cli: Cli, case: Case) -> None:
    state_file = started / ".worktrees/two/sessions.json"
    saved = state_file.read_bytes()
    try:
        run_refused(started, cli, case)
    finally:
        state_file.write_bytes(saved)


# --- refused: repositories, branches, ports, folders, claude ------------------------------

def test_bare_repository(fresh: Path, tmp_path: Path, cli: Cli) -> None:
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(fresh), str(bare))
    before = hc.folder_content(bare)
    expect_error(cli("start", str(fresh / "specs/two.md"), "--no-agents", cwd=bare),
                 f"{bare} is a bare repository or a .git folder; dispatch needs a checkout: "
                 "run it in your project's working tree")
    assert hc.folder_content(bare) == before


def test_inside_the_git_folder(fresh: Path, cli: Cli) -> None:
    before = hc.repo_state(fresh)
    expect_error(cli("status", cwd=fresh / ".git"),
                 f"{fresh / '.git'} is a bare repository or a .git folder; dispatch needs a "
                 "checkout: run it in your project's working tree")
    hc.expect_unchanged(fresh, before)


def test_repository_without_commits(tmp_path: Path, cli: Cli) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    git(empty, "init", "-q")
    write(empty, {"specs/two.md": hc.TWO})
    before = hc.folder_content(empty)
    expect_error(cli("start", "specs/two.md", "--no-agents", cwd=empty),
                 "this repository has no commits yet; make a first commit ('git commit "
                 "--allow-empty -m init') and run dispatch again")
    assert hc.folder_content(empty) == before


def test_not_a_repository(tmp_path: Path, cli: Cli) -> None:
    folder = tmp_path / "plain"
    write(folder, {"two.md": hc.TWO})
    before = hc.folder_content(folder)
    expect_error(cli("start", "two.md", "--no-agents", cwd=folder),
                 f"{folder} is not inside a git repository; run dispatch from your project's "
                 "checkout (or 'git init' one first)")
    assert hc.folder_content(folder) == before


def test_workstream_branch_checked_out_elsewhere(fresh: Path, tmp_path: Path,
                                                 cli: Cli) -> None:
    elsewhere = tmp_path / "elsewhere"
    git(fresh, "worktree", "add", "-q", "-b", "two/web", str(elsewhere))
    case = Case("x", ("start", "specs/two.md", "--no-agents"),
                f"branch 'two/web' is already checked out at {elsewhere}; switch that checkout "
                f"to another branch, or remove it ('git worktree remove {elsewhere}')")
    run_refused(fresh, cli, case)
    assert not (fresh / ".worktrees").exists()


def test_workstream_branch_checked_out_in_the_users_checkout(fresh: Path, cli: Cli) -> None:
    git(fresh, "checkout", "-q", "-b", "two/api")
    case = Case("x", ("start", "specs/two.md", "--no-agents"),
                "branch 'two/api' is checked out in your own checkout; switch to another "
                "branch first (e.g. 'git switch -')")
    run_refused(fresh, cli, case)


def test_no_free_port_while_every_port_above_the_base_is_busy(fresh: Path, cli: Cli) -> None:
    with ExitStack() as stack:
        for port in range(65001, 65536):
            holder = stack.enter_context(socket.socket())
            try:
                holder.bind(("127.0.0.1", port))
            except OSError:
                continue  # busy already: just as good
        case = Case("x", ("start", "specs/two.md", "--no-agents", "--base-port", "65000"),
                    hc.NO_FREE_PORTS)
        run_refused(fresh, cli, case)
    assert not (fresh / ".worktrees").exists()


def test_unwritable_worktrees_folder(fresh: Path, cli: Cli,
                                     immutable: Callable[[Path], None]) -> None:
    (fresh / ".worktrees").mkdir()
    immutable(fresh / ".worktrees")
    run_refused(fresh, cli, Case("x", ("start", "specs/two.md", "--no-agents"),
                                 ".worktrees is not writable (Operation not permitted); fix its "
                                 "permissions and run dispatch start again"))


def test_unwritable_feature_folder_refuses_start(two: Path, cli: Cli,
                                                 immutable: Callable[[Path], None]) -> None:
    immutable(two / ".worktrees/two")
    run_refused(two, cli, Case("x", ("start", "specs/two.md", "--no-agents"),
                               ".worktrees/two is not writable (Operation not permitted); fix "
                               "its permissions and run dispatch start again"))


def test_unwritable_feature_folder_refuses_integrate(two: Path, cli: Cli,
                                                     immutable: Callable[[Path], None]) -> None:
    immutable(two / ".worktrees/two")
    run_refused(two, cli, Case("x", ("integrate", "two", "--include", "pending"),
                               "cannot create the lock file {repo}/.worktrees/two/.integrate.lock "
                               "(Operation not permitted); make its folder writable"))


def test_integrate_with_a_verify_command_that_always_fails(two: Path, cli: Cli) -> None:
    log = two / ".worktrees/two/logs/integration.verify.base.log"
    before = hc.repo_state(two)
    result = cli("integrate", "two", "--only", "api", "--verify", "false", cwd=two)
    progress, _, rest = result.err.partition("\n")  # (integrate --verify says what it runs)
    assert progress == "verifying the integration branch before any merge: false"
    result = Result(result.code, result.out, rest)
    expect_error(result, "the verify command `false` already fails on the integration branch "
                 "before any merge (see .worktrees/two/logs/integration.verify.base.log); fix "
                 "it or run without --verify")
    assert log.read_text() == "$ false\n"  # the evidence the message points to stays
    log.unlink()
    hc.expect_unchanged(two, before)  # no integration branch, worktree or record was left


@pytest.fixture
def no_claude_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.delenv("CLAUDE_CLI_PATH", raising=False)


def _not_executable(repo: Path) -> None:
    (repo.parent / "claude").write_text("#!/bin/sh\necho hi\n")


def _folder(repo: Path) -> None:
    (repo.parent / "claude").mkdir()


_INSTALL = ("install Claude Code ('npm install -g @anthropic-ai/claude-code'), or pass "
            "--claude PATH or set CLAUDE_CLI_PATH; to try dispatch without it use --rehearse, "
            "to provision only use --no-agents")
CLAUDE_CASES = [
    Case("missing", ("start", "specs/two.md"), f"claude (Claude Code) is not on PATH; {_INSTALL}"),
    Case("missing-path", ("start", "specs/two.md", "--claude", "{parent}/nope"),
         f"claude program '{{parent}}/nope' does not exist; {_INSTALL}"),
    Case("option-like", ("start", "specs/two.md", "--claude=--upload-pack=x"),
         f"claude program '--upload-pack=x' does not exist; {_INSTALL}"),
    Case("not-executable", ("start", "specs/two.md", "--claude", "{parent}/claude"),
         "claude program {parent}/claude is not executable; fix it with 'chmod +x "
         "{parent}/claude' or point --claude at the right file", arrange=_not_executable),
    Case("a-folder", ("start", "specs/two.md", "--claude", "{parent}/claude"),
         "{parent}/claude is a folder, not the claude program; point --claude (or "
         "CLAUDE_CLI_PATH) at the claude executable", arrange=_folder),
    Case("bad-max-workers", ("start", "specs/two.md", "--rehearse"),
         "MAX_CLAUDE_WORKERS='lots' is not a number from 1 to 64; fix or unset it"),
]


@pytest.mark.parametrize("case", params(CLAUDE_CASES))
@pytest.mark.usefixtures("no_claude_on_path")
def test_unusable_claude_refuses_before_any_change(fresh: Path, cli: Cli, case: Case,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    if case.id == "bad-max-workers":
        monkeypatch.setenv("MAX_CLAUDE_WORKERS", "lots")
    parent = str(fresh.parent)
    resolved = Case(case.id, tuple(a.replace("{parent}", parent) for a in case.argv),
                    case.message.replace("{parent}", parent), arrange=case.arrange)
    run_refused(fresh, cli, resolved)
    assert not (fresh / ".worktrees").exists()


# --- allowed: these must work, and leave the user's things alone --------------------------

def test_jinja_in_a_spec_is_text_not_a_template(fresh: Path, cli: Cli) -> None:
    commit(fresh, {"specs/jinja.md": hc.JINJA}, "a spec full of template syntax")
    before = snapshot(fresh)
    result = cli("start", "specs/jinja.md", "--no-agents")
    assert result.code == 0, result
    expect_no_traceback(result)
    assert snapshot(fresh, "jinja") == before
    api = (fresh / ".worktrees/jinja/api/.workstream/TASKS.md").read_text()
    for literal in ("Render {{ config.items() }} and {% if true %}yes{% endif %}",
                    "- [ ] Parse {{ args }} literally {# not a comment #}\n",
                    "- [ ] Handle {%- endraw %} and {{- lipsum(2) -}}\n",
                    "- `app/{{ name }}.py`", "Feature: **{{ 7*7 }} {% raw %}**",
                    "`echo {{ cycler.__init__.__globals__ }}`"):
        assert literal in api
    web = (fresh / ".worktrees/jinja/web/.workstream/TASKS.md").read_text()
    assert "- [ ] {% for x in range(10**9) %}{{ x }}{% endfor %}\n" in web
    assert "- [ ] ${HOME} $(whoami) `rm -rf /`\n" in web
    coordination = (fresh / ".worktrees/jinja/COORDINATION.md").read_text()
    assert coordination.startswith("# Coordination — {{ 7*7 }} {% raw %} (`jinja`)")
    assert "49" not in api.split("## Technical")[0]  # nothing was evaluated


def test_hostile_workstream_titles_become_safe_names(fresh: Path, cli: Cli) -> None:
    commit(fresh, {"specs/titles.md": hc.HOSTILE_TITLES}, "hostile titles")
    before = snapshot(fresh)
    result = cli("start", "specs/titles.md", "--no-agents")
    assert result.code == 0, result
    expect_no_traceback(result)
    assert snapshot(fresh, "titles") == before
    names = ["etc", "rf", "upload-pack-evil", "touch-pwned-whoami", "pi",
             "word-word-word-word-word-word-word-word-word", "logs-ws"]
    assert sorted(p.name for p in (fresh / ".worktrees/titles").iterdir() if p.is_dir()) == \
        sorted([*names, "logs"])
    assert git(fresh, "branch", "--list", "titles/*", "--format=%(refname:short)").split() == \
        sorted(f"titles/{name}" for name in names)
    for name in names:
        assert git(fresh / ".worktrees/titles" / name, "rev-parse", "--abbrev-ref",
                   "HEAD") == f"titles/{name}"
    assert not list(fresh.parent.rglob("pwned")) and not (fresh.parent / "etc").exists()


def test_detached_head_is_allowed_and_stays_detached(fresh: Path, cli: Cli) -> None:
    head = git(fresh, "rev-parse", "HEAD")
    git(fresh, "checkout", "-q", "--detach", "HEAD")
    before = snapshot(fresh)
    assert before["branch"] == "(detached)"
    result = cli("start", "specs/two.md", "--no-agents")
    assert result.code == 0, result
    expect_no_traceback(result)
    assert snapshot(fresh, "two") == before  # still detached, at the same commit
    for name in ("api", "web"):
        worktree = fresh / ".worktrees/two" / name
        assert git(worktree, "rev-parse", "--abbrev-ref", "HEAD") == f"two/{name}"
        assert git(worktree, "rev-parse", "HEAD") == head


def test_dirty_checkout_is_allowed_and_left_untouched(fresh: Path, cli: Cli) -> None:
    write(fresh, {"app/main.py": "print('edited, not committed')\n", "notes.txt": "mine\n",
                  "app/staged.py": "x = 1\n"})
    git(fresh, "add", "app/staged.py")
    (fresh / "README.md").unlink()
    before = snapshot(fresh)
    files = {p: p.read_bytes() for p in fresh.rglob("*")
             if p.is_file() and ".git" not in p.parts}
    result = cli("start", "specs/two.md", "--no-agents")
    assert result.code == 0, result
    expect_no_traceback(result)
    assert snapshot(fresh, "two") == before
    assert {p: p.read_bytes() for p in fresh.rglob("*") if p.is_file() and ".git" not in
            p.parts and ".worktrees" not in p.parts} == files
    worktree = fresh / ".worktrees/two/api"
    assert (worktree / "app/main.py").read_text() == "print('hi')\n"  # from the commit
    assert (worktree / "README.md").is_file() and not (worktree / "notes.txt").exists()


def test_worktree_deleted_by_hand_is_reported_and_recreated(two: Path, cli: Cli) -> None:
    before = snapshot(two, "two")
    shutil.rmtree(two / ".worktrees/two/api")
    table = cli("status", "two")
    assert table.code == 0, table
    expect_no_traceback(table)
    api_row = next(line for line in table.out.splitlines() if line.startswith("api "))
    assert "worktree missing: 'dispatch start two' recreates it." in api_row
    listed = cli("status", "two", "--json")
    data = {w["name"]: w for w in json.loads(listed.out)["workstreams"]}
    assert (data["api"]["worktree_exists"], data["web"]["worktree_exists"]) == (False, True)

    again = cli("start", "two", "--no-agents")
    assert again.code == 0, again
    expect_no_traceback(again)
    worktree = two / ".worktrees/two/api"
    assert git(worktree, "rev-parse", "--abbrev-ref", "HEAD") == "two/api"
    assert git(worktree, "status", "--porcelain") == ""
    assert (worktree / "app/main.py").read_text() == "print('hi')\n"
    assert "- [ ] endpoint" in (worktree / ".workstream/TASKS.md").read_text()
    assert snapshot(two, "two") == before
    relisted = json.loads(cli("status", "two", "--json").out)
    assert all(w["worktree_exists"] for w in relisted["workstreams"])


def test_missing_worktree_hint_names_the_feature(two: Path, cli: Cli) -> None:
    shutil.rmtree(two / ".worktrees/two/api")
    table = cli("status", "two")
    assert "worktree missing" in table.out and "'dispatch start two'" in table.out


ONE_SPEC = "# One\n" + hc.ONE


@pytest.mark.parametrize(("script", "options", "error"), [
    pytest.param({"reply": "garbage", "do": "nowork"}, (),
                 "fatal: the fake crashed on purpose", id="garbage"),
    pytest.param({"reply": "huge", "do": "nowork"}, (),
                 "printed more than 20 MB and no result; exit code 1 and no result on "
                 "stdout", id="fifty-megabytes"),
    pytest.param({"sleep": 60}, ("--session-timeout", "1"),
                 "stopped after running 1s (--session-timeout)", id="hangs"),
])
def test_a_misbehaving_claude_fails_its_workstream_clearly(
        fresh: Path, cli: Cli, fake_claude: FakeClaude, script: dict[str, object],
        options: tuple[str, ...], error: str) -> None:
    commit(fresh, {"specs/one.md": ONE_SPEC}, "one")
    fake_claude.script({"api": [script]})
    before = snapshot(fresh)
    result = cli("start", "specs/one.md", "--retry-delay", "0", "--retries", "0", *options)
    assert result.code == 0, result
    expect_no_traceback(result)
    record = settle(fresh, "one")["api"]
    assert (record["status"], record["error"]) == ("failed", error)
    assert snapshot(fresh, "one") == before
    worktree = str(fresh / ".worktrees/one/api")
    assert not [p for p in psutil.process_iter(["cwd"]) if p.info["cwd"] == worktree]
    logs = cli("logs", "api")
    assert logs.code == 0, logs
    assert logs.out.startswith("==> .worktrees/one/logs/api.1.jsonl (run 1) <==\n")
    expect_no_traceback(logs)
    status = cli("status", "one", "--json")
    assert json.loads(status.out)["workstreams"][0]["error"] == error
