"""`dispatch integrate --collect`: JSON segments from many branches combined into one checked
file on the integration branch, on real repositories (a bare remote over file://)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from dispatch.core.errors import DispatchError
from dispatch.gitops import remotes
from tests.support.cli import Result
from tests.support.gitrepo import commit, git, snapshot
from tests.support.integrate import FOUR, work
from tests.support.segments import PATTERN, Machine, local_branch, merged, records

Cli = Callable[..., Result]
INTEGRATION = "claude-segment/integration"
REPORT = ".worktrees/claude-segment/INTEGRATION.md"
COLLECT = ("--collect", "staging/*.json", "--into", "public/merged.json")
FIVE = {
    "claude/segment-1": {"staging/a.json": records((1, "alpha"), (2, "beta"))},
    "claude/segment-2": {"staging/b.json": records((3, "gamma"))},
    "claude/segment-3": {"staging/c.json": '[{"id": 4, "name": "delta"},'},  # cut short
    "claude/segment-4": {"staging/d.json": records((5, "epsilon"), (3, "gamma"))},  # 3: equal
    "claude/segment-5": {"staging/e.json": records((3, "GAMMA"))},  # 3 again, another value
}


@pytest.fixture
def origin(repo: Path, tmp_path: Path) -> Path:
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    git(repo, "remote", "add", "origin", bare.as_uri())  # file://
    git(repo, "push", "-q", "origin", "main")
    return bare


@pytest.fixture
def machine(origin: Path, tmp_path: Path) -> Machine:
    return Machine(origin.as_uri(), tmp_path / "elsewhere")


def remote_branches(origin: Path) -> list[str]:
    return git(origin, "branch", "--list", "claude*", "--format=%(refname:short)").split()


def test_five_segments_one_invalid_two_clashing(repo: Path, origin: Path, machine: Machine,
                                                cli: Cli) -> None:
    for branch, files in FIVE.items():
        machine.push(branch, files)
    git(repo, "config", "commit.gpgsign", "true")  # dispatch's commits are never signed
    git(repo, "config", "user.signingkey", "NO-SUCH-KEY")
    before = snapshot(repo, "claude-segment")
    argv = ("integrate", "--remote", "origin", "--pattern", PATTERN, "--min-branches", "5",
            *COLLECT, "--key", "id", "--push", "--delete-merged")
    result = cli(*argv)
    head = git(repo, "rev-parse", INTEGRATION)
    assert (result.code, result.out, result.err) == (1, (
        "merged: segment-1, segment-2, segment-3, segment-4, segment-5\n"
        f"collected 3 of 5 segments (4 items) into public/merged.json: committed as "
        f"{head[:10]}\n"
        "left out: staging/c.json (claude/segment-3): not valid JSON: Expecting value (line 1, "
        "column 29)\n"
        "left out: staging/e.json (claude/segment-5): id 3 is also in staging/b.json "
        "(claude/segment-2) with a different value\n"
        f"integration branch {INTEGRATION} (worktree .worktrees/claude-segment/integration); "
        "total cost $0.00\n"
        f"report: {REPORT}\n"), (
        "kept claude/segment-3 on origin: its segment staging/c.json was left out\n"
        "kept claude/segment-5 on origin: its segment staging/e.json was left out\n"))
    assert merged(repo) == [{"id": 1, "name": "alpha"}, {"id": 2, "name": "beta"},
                            {"id": 3, "name": "gamma"}, {"id": 5, "name": "epsilon"}]
    # Pushed, and only the branches whose segments were collected are deleted.
    assert remote_branches(origin) == [INTEGRATION, "claude/segment-3", "claude/segment-5"]
    assert git(origin, "rev-parse", INTEGRATION) == head
    # A commit of dispatch's own on top of the merges: unsigned, the user's identity.
    assert git(repo, "log", "-2", "--first-parent", "--format=%s|%an <%ae>", head) == (
        "Collect staging/*.json into public/merged.json|Test User <test@example.com>\n"
        "Merge segment-5 workstream|Test User <test@example.com>")
    assert "gpgsig" not in git(repo, "cat-file", "-p", head)
    assert git(repo, "diff", "--name-only", f"{head}^", head) == "public/merged.json"
    worktree = repo / ".worktrees/claude-segment/integration"
    assert json.loads((worktree / "public/merged.json").read_text()) == merged(repo)
    assert git(worktree, "status", "--porcelain") == ""
    report = (repo / REPORT).read_text()
    assert (
        "| `staging/a.json` | `claude/segment-1` | collected, 2 items |\n"
        "| `staging/b.json` | `claude/segment-2` | collected, 1 item |\n"
        "| `staging/c.json` | `claude/segment-3` | **left out**: not valid JSON: Expecting value "
        "(line 1, column 29) |\n"
        "| `staging/d.json` | `claude/segment-4` | collected, 1 item |\n"
        "| `staging/e.json` | `claude/segment-5` | **left out**: id 3 is also in staging/b.json "
        "(claude/segment-2) with a different value |\n") in report
    assert snapshot(repo, "claude-segment") == before  # the user's checkout: untouched


def test_again_with_nothing_new_then_with_the_fixes(repo: Path, origin: Path,
                                                    machine: Machine, cli: Cli) -> None:
    for branch, files in FIVE.items():
        machine.push(branch, files)
    argv = ("integrate", "--remote", "origin", "--pattern", PATTERN, *COLLECT, "--key", "id",
            "--push", "--delete-merged")
    assert cli(*argv).code == 1
    head, output = git(repo, "rev-parse", INTEGRATION), merged(repo)

    again = cli(*argv, "--json")  # the deleted branches stay merged; nothing new to commit
    assert again.code == 1, again
    shown = json.loads(again.out)
    assert {name: r["status"] for name, r in shown["merges"].items()} == {
        f"segment-{n}": "merged" for n in range(1, 6)}
    assert shown["foreign_commits"] == []  # its merges and its Collect commit are its own
    assert shown["collect"] == {
        "pattern": "staging/*.json", "into": "public/merged.json", "key": "id",
        "schema": None, "branch": INTEGRATION, "commit": None, "items": 4, "collected": 3,
        "left_out": 2, "segments": [
            {"path": f"staging/{letter}.json", "workstream": f"segment-{n}",
             "branch": f"claude/segment-{n}", "collected": reason is None, "items": items,
             "reason": reason}
            for n, letter, items, reason in [
                (1, "a", 2, None), (2, "b", 1, None),
                (3, "c", 0, "not valid JSON: Expecting value (line 1, column 29)"),
                (4, "d", 1, None),
                (5, "e", 0, "id 3 is also in staging/b.json (claude/segment-2) with a "
                            "different value")]]}
    assert (git(repo, "rev-parse", INTEGRATION), merged(repo)) == (head, output)
    assert remote_branches(origin) == [INTEGRATION, "claude/segment-3", "claude/segment-5"]

    machine.push("claude/segment-3", {"staging/c.json": records((4, "delta"))})
    machine.push("claude/segment-5", {"staging/e.json": records((6, "zeta"))})
    fixed = cli(*argv)
    assert fixed.code == 0, fixed
    assert fixed.out.splitlines()[:2] == [
        "merged: segment-1, segment-2, segment-3, segment-4, segment-5",
        f"collected 5 of 5 segments (6 items) into public/merged.json: committed as "
        f"{git(repo, 'rev-parse', INTEGRATION)[:10]}"]
    assert [r["id"] for r in merged(repo)] == [1, 2, 3, 4, 5, 6]  # type: ignore[attr-defined]
    assert remote_branches(origin) == [INTEGRATION]


def test_arrays_concatenated_in_path_order(repo: Path, cli: Cli) -> None:
    local_branch(repo, "claude/segment-1", {"staging/a2.json": '["a2"]',
                                            "staging/B.json": '["B"]'})
    local_branch(repo, "claude/segment-2", {"staging/a10.json": '["a10"]',
                                            "staging/deep/z.json": '["deep"]'})
    local_branch(repo, "claude/segment-3", {"staging/object.json": '{"x": 1}',
                                            "staging/\x1b]0;owned\x07.json": "oops"})
    argv = ("integrate", "--pattern", PATTERN, "--collect", "staging/**/*.json", "--into",
            "staging/all.json")  # the output matches the glob too: never a segment
    result = cli(*argv)
    assert (result.code, result.err) == (1, ""), result
    assert result.out.splitlines()[1:4] == [
        "collected 4 of 6 segments (4 items) into staging/all.json: committed as "
        f"{git(repo, 'rev-parse', INTEGRATION)[:10]}",
        "left out: staging/\\x1b]0;owned\\x07.json (claude/segment-3): not valid JSON: "
        "Expecting value (line 1, column 1)",
        "left out: staging/object.json (claude/segment-3): an object, not an array (without "
        "--key every segment is an array; pass --key NAME to merge objects by a key)"]
    # Code point order: upper case first, "a10" before "a2", a folder's files in their place.
    assert merged(repo, "staging/all.json") == ["B", "a10", "a2", "deep"]
    head = git(repo, "rev-parse", INTEGRATION)
    assert cli(*argv).code == 1
    assert git(repo, "rev-parse", INTEGRATION) == head


def test_a_segment_comes_from_the_merge_that_last_changed_it(repo: Path, cli: Cli) -> None:
    commit(repo, {"staging/0-base.json": "[0]"}, "a segment in the base")
    local_branch(repo, "claude/segment-1", {"staging/x.json": "not json"})
    local_branch(repo, "claude/segment-2", {"staging/x.json": '["fixed"]'},
                 start="claude/segment-1")  # continues segment-1 and rewrites its file
    local_branch(repo, "claude/segment-3", {"staging/y.json": "{"})
    result = cli("integrate", "--pattern", PATTERN, *COLLECT, "--json")
    assert result.code == 1, result
    assert json.loads(result.out)["collect"]["segments"] == [
        {"path": "staging/0-base.json", "workstream": None, "branch": None,
         "collected": True, "items": 1, "reason": None},
        {"path": "staging/x.json", "workstream": "segment-2", "branch": "claude/segment-2",
         "collected": True, "items": 1, "reason": None},
        {"path": "staging/y.json", "workstream": "segment-3", "branch": "claude/segment-3",
         "collected": False, "items": 0, "reason": "not valid JSON: Expecting property name "
                                                   "enclosed in double quotes (line 1, column 2)"}]
    assert merged(repo) == [0, "fixed"]


def test_schema_violation_is_reported(repo: Path, cli: Cli, tmp_path: Path) -> None:
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({
        "type": "array", "items": {"type": "object", "required": ["id", "name"],
                                   "properties": {"id": {"type": "integer"}}}}))
    local_branch(repo, "claude/segment-1", {"staging/a.json": records((1, "alpha"))})
    local_branch(repo, "claude/segment-2", {"staging/b.json": '[{"id": "two", "name": "b"}]'})
    local_branch(repo, "claude/segment-3", {"staging/c.json": '[{"id": 3}]'})
    result = cli("integrate", "--pattern", PATTERN, "--collect", "staging/*.json", "--into",
                 str(repo / "public/merged.json"), "--schema", str(schema))
    assert result.code == 1, result
    assert result.out.splitlines()[2:4] == [
        "left out: staging/b.json (claude/segment-2): schema: $[0].id: 'two' is not of type "
        "'integer'",
        "left out: staging/c.json (claude/segment-3): schema: $[0]: 'name' is a required "
        "property"]
    assert merged(repo) == [{"id": 1, "name": "alpha"}]
    assert f"each checked against `{schema}`" in (repo / REPORT).read_text()


@pytest.fixture
def loopback_schema_host() -> Iterator[tuple[str, list[str]]]:
    """A schema server on loopback that records every request it gets."""
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            body = b'{"type": "array"}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/item.json", asked
    server.shutdown()
    server.server_close()


def test_a_schema_is_never_fetched_over_the_network(
        repo: Path, cli: Cli, tmp_path: Path,
        loopback_schema_host: tuple[str, list[str]]) -> None:
    url, asked = loopback_schema_host
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"$ref": url}))
    local_branch(repo, "claude/segment-1", {"staging/a.json": "[1]"})
    result = cli("integrate", "--pattern", PATTERN, *COLLECT, "--schema", str(schema))
    assert result.code == 1, result
    assert result.out.splitlines()[2] == (
        f"left out: staging/a.json (claude/segment-1): not checked: the schema's $ref "
        f"Unresolvable: {url} does not resolve (dispatch fetches no schema from the network)")
    assert asked == []


@pytest.mark.parametrize(("content", "message"), [
    ("{", "--schema {schema} is not valid JSON (Expecting property name enclosed in double "
          "quotes: line 1 column 2 (char 1)); fix it"),
    ("[]", "--schema {schema} is not a JSON Schema object; write one such as "
           '{{"type": "array"}}'),
    ('{"type": "arrray"}', "--schema {schema} is not a valid JSON Schema: 'arrray' is not "
                           "valid under any of the given schemas at $.type"),
    (None, "--schema {schema} is not a file; name the JSON Schema file"),
])
def test_a_bad_schema_is_refused_before_anything_changes(
        repo: Path, cli: Cli, tmp_path: Path, content: str | None, message: str) -> None:
    schema = tmp_path / "schema.json"
    if content is not None:
        schema.write_text(content)
    local_branch(repo, "claude/segment-1", {"staging/a.json": "[1]"})
    before = snapshot(repo)
    result = cli("integrate", "--pattern", PATTERN, *COLLECT, "--schema", str(schema))
    assert (result.code, result.out) == (1, "")
    assert result.err == f"dispatch: error: {message.format(schema=schema)}\n"
    assert snapshot(repo) == before
    assert not (repo / ".worktrees").exists()


@pytest.mark.parametrize(("into", "message"), [
    ("../merged.json", "--into '../merged.json' reaches outside the repository; name a path "
                       "relative to its top level, without '..'"),
    ("{outside}/merged.json", "--into '{outside}/merged.json' is outside the repository "
                              "{repo}; name a path inside it, e.g. --into public/merged.json"),
    (".git/merged.json", "--into '.git/merged.json' is inside .git, git's own folder; name a "
                         "path in the repository's files"),
    ("public/.git/config", "--into 'public/.git/config' is inside .git, git's own folder; "
                           "name a path in the repository's files"),
])
def test_into_outside_the_repository_or_inside_git_is_refused(
        repo: Path, cli: Cli, tmp_path: Path, into: str, message: str) -> None:
    local_branch(repo, "claude/segment-1", {"staging/a.json": "[1]"})
    before = snapshot(repo)
    into = into.format(outside=tmp_path / "elsewhere")
    result = cli("integrate", "--pattern", PATTERN, "--collect", "staging/*.json",
                 "--into", into)
    assert (result.code, result.out) == (1, "")
    assert result.err == (f"dispatch: error: "
                          f"{message.format(outside=tmp_path / 'elsewhere', repo=repo)}\n")
    assert snapshot(repo) == before
    assert not (repo / ".worktrees").exists()
    assert not (tmp_path / "merged.json").exists() and not (tmp_path / "elsewhere").exists()


def test_into_a_folder_of_the_branch_is_refused(repo: Path, cli: Cli) -> None:
    local_branch(repo, "claude/segment-1", {"staging/a.json": "[1]"})
    result = cli("integrate", "--pattern", PATTERN, "--collect", "staging/*.json",
                 "--into", "staging")
    assert (result.code, result.err) == (1, f"dispatch: error: --into staging is a folder in "
                                            f"{INTEGRATION}; name a file\n")
    result = cli("integrate", "--pattern", PATTERN, "--collect", "staging/*.json",
                 "--into", "README.md/merged.json")
    assert (result.code, result.err) == (1, "dispatch: error: --into README.md/merged.json "
                                            f"cannot be written: README.md is a file in "
                                            f"{INTEGRATION}; name another path\n")
    assert git(repo, "log", "-1", "--format=%s", INTEGRATION) == "Merge segment-1 workstream"


@pytest.mark.parametrize(("argv", "message"), [
    (("--into", "out.json"), "--into, --key and --schema go with --collect GLOB (the segment "
                             "files to combine), e.g. --collect 'staging/*.json'"),
    (("--collect", "staging/*.json"), "--collect needs --into PATH: the file to write the "
                                      "combined segments to, e.g. --into public/merged.json"),
    ((*COLLECT, "--key", " "), "--key is empty; name the member that identifies a record, "
                               "e.g. --key id"),
])
def test_collect_options_go_together(repo: Path, cli: Cli, argv: tuple[str, ...],
                                     message: str) -> None:
    local_branch(repo, "claude/segment-1", {"staging/a.json": "[1]"})
    result = cli("integrate", "--pattern", PATTERN, *argv)
    assert (result.code, result.out, result.err) == (1, "", f"dispatch: error: {message}\n")


def test_no_segment_found_is_one_line(repo: Path, cli: Cli) -> None:
    local_branch(repo, "claude/segment-1", {"notes/one.txt": "one\n"})
    result = cli("integrate", "--pattern", PATTERN, *COLLECT)
    assert result.code == 1
    assert result.err == (
        f"dispatch: error: no file in {INTEGRATION} matches 'staging/*.json'; nothing was "
        "written to public/merged.json (the glob is relative to the repository's top level: "
        "check it, quoted, or wait for the segments)\n")
    assert result.out.splitlines()[0] == "merged: segment-1"
    assert git(repo, "log", "-1", "--format=%s", INTEGRATION) == "Merge segment-1 workstream"


def test_huge_and_deeply_nested_segments_without_a_crash(repo: Path, cli: Cli) -> None:
    numbers = list(range(200_000))
    local_branch(repo, "claude/segment-1", {"staging/big.json": json.dumps(numbers)})
    local_branch(repo, "claude/segment-2", {"staging/deep.json": "[" * 100_000 + "]" * 100_000})
    local_branch(repo, "claude/segment-3", {"staging/deeper.json": "[" * 200 + "]" * 200})
    local_branch(repo, "claude/segment-4", {"staging/huge.json": "[" + "0," * (33 << 20) + "0]"})
    result = cli("integrate", "--pattern", PATTERN, *COLLECT)
    assert result.code == 1, result
    assert result.out.splitlines()[1:5] == [
        "collected 1 of 4 segments (200000 items) into public/merged.json: committed as "
        f"{git(repo, 'rev-parse', INTEGRATION)[:10]}",
        "left out: staging/deep.json (claude/segment-2): nested deeper than 128 levels",
        "left out: staging/deeper.json (claude/segment-3): nested deeper than 128 levels",
        "left out: staging/huge.json (claude/segment-4): 66.0 MiB, over the 64 MiB a segment "
        "may hold (split it into smaller files)"]
    assert merged(repo) == numbers


def test_a_branch_that_moved_on_the_remote_is_not_deleted(repo: Path, origin: Path,
                                                          machine: Machine) -> None:
    fetched = machine.push("claude/segment-1", {"staging/a.json": "[1]"})
    machine.push("claude/segment-1", {"staging/a.json": "[1, 2]"})  # pushed since the fetch
    with pytest.raises(DispatchError, match=r"^git push origin failed after 5 attempts: "):
        remotes.delete(repo, "origin", ["claude/segment-1"], 0,
                       expect={"claude/segment-1": fetched})
    assert remote_branches(origin) == ["claude/segment-1"]


def _on_origin(origin: Path, what: str) -> str | None:
    proc = subprocess.run(["git", "show", what], cwd=origin, capture_output=True, text=True,
                          check=False)
    return proc.stdout if proc.returncode == 0 else None


def test_watch_pushes_the_result_and_keeps_a_branch_left_out(origin: Path, machine: Machine,
                                                             repo: Path) -> None:
    watcher = subprocess.Popen(
        [sys.executable, "-m", "dispatch", "integrate", "--remote", "origin", "--pattern",
         PATTERN, "--min-branches", "2", "--watch", "--interval", "1", "--push",
         "--delete-merged", *COLLECT],
        cwd=repo, env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)
    output = f"{INTEGRATION}:public/merged.json"
    try:
        machine.push("claude/segment-1", {"staging/a.json": '["a"]'})
        machine.push("claude/segment-2", {"staging/b.json": '["b",'})
        deadline = time.monotonic() + 60
        while remote_branches(origin) != [INTEGRATION, "claude/segment-2"]:
            assert time.monotonic() < deadline and watcher.poll() is None
            time.sleep(0.2)
        assert json.loads(_on_origin(origin, output) or "null") == ["a"]
        machine.push("claude/segment-2", {"staging/b.json": '["b"]'})  # the fix
        while remote_branches(origin) != [INTEGRATION]:
            assert time.monotonic() < deadline and watcher.poll() is None
            time.sleep(0.2)
        assert json.loads(_on_origin(origin, output) or "null") == ["a", "b"]
    finally:
        watcher.send_signal(signal.SIGINT)
        _out, err = watcher.communicate(timeout=30)
    assert watcher.returncode == 0, err
    assert "kept claude/segment-2 on origin: its segment staging/b.json was left out" in err


def test_own_workstreams_are_collected_too(repo: Path, cli: Cli) -> None:
    """Not only --pattern branches: a feature's own workstreams, merged by plain `integrate`."""
    commit(repo, {"specs/four.md": FOUR}, "spec")
    assert cli("start", "specs/four.md", "--no-agents").code == 0
    work(repo, "web", {"web/data.json": '["from web"]'})
    work(repo, "api", {"api/data.json": '["from api", 2]'})
    work(repo, "cli", {"cli/data.json": '["cut short"'})
    result = cli("integrate", "four", "--collect", "**/data.json", "--into", "public/all.json",
                 "--json")
    assert result.code == 1, result
    shown = json.loads(result.out)["collect"]
    assert [(s["path"], s["branch"], s["reason"]) for s in shown["segments"]] == [
        ("api/data.json", "four/api", None),
        ("cli/data.json", "four/cli", "not valid JSON: Expecting ',' delimiter (line 1, "
                                      "column 13)"),
        ("web/data.json", "four/web", None)]
    assert merged(repo, "public/all.json", "four/integration") == ["from api", 2, "from web"]
