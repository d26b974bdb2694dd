"""The hostile and broken input corpus of tests/test_hostile.py: its specs, its case tables,
and the checks every refusal must pass.

A refused command must exit 1 (a problem the user can fix) or 2 (a usage error), say so in
exactly one line that names the fix, print no traceback, and leave the repository and
dispatch's own state byte for byte as they were.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dispatch.core.text import shown
from tests.support.cli import Result
from tests.support.gitrepo import snapshot

TRACEBACK = "Traceback (most recent call last)"
NAME_RULE = "use letters a-z, digits, '.', '_', '-', starting with a letter or digit"
LONG = "a" * 300
LOOKALIKE = "\u0430pi"  # a Cyrillic 'а' followed by 'pi': reads as "api"
HOSTILE_NAMES = {  # id -> a name that must never become a path, a ref or an option
    "traversal": "../x",
    "short-option": "-rf",
    "upload-pack": "--upload-pack=evil",
    "space": "a b",
    "quote": "a'b",
    "subshell": "$(touch pwned)",
    "newline": "a\nb",
    "lookalike": LOOKALIKE,
    "fullwidth": "\uff26\uff2f\uff2f",  # ＦＯＯ
    "300-chars": LONG,
}

ONE = "## Workstreams\n### Api\n**Goal**: serve\n**Files**: `api/**`\n- [ ] endpoint\n"
TWO = "# Two\n## Workstreams\n### Api\n**Goal**: serve\n**Files**: `api/**`\n- [ ] endpoint\n" \
      "### Web\n**Goal**: show\n**Files**: `web/**`\n- [ ] page\n"
JINJA = """\
---
title: "{{ 7*7 }} {% raw %}"
verify: "echo {{ cycler.__init__.__globals__ }}"
---
# {% include '/etc/passwd' %}
## Workstreams
### Workstream 1: Api (Can start immediately)
**Goal**: Render {{ config.items() }} and {% if true %}yes{% endif %}
**Files**: `app/{{ name }}.py`
- [ ] Parse {{ args }} literally {# not a comment #}
- Handle {%- endraw %} and {{- lipsum(2) -}}
### Workstream 2: Web
- {% for x in range(10**9) %}{{ x }}{% endfor %}
- ${HOME} $(whoami) `rm -rf /`
"""
HUGE = 11 * 1024 * 1024
HOSTILE_TITLES = """\
## Workstreams
### Workstream 1: ../../etc
- a
### Workstream 2: -rf
- b
### Workstream 3: --upload-pack=evil
- c
### Workstream 4: $(touch pwned) `whoami`
- d
### Workstream 5: \u0410pi
- e
### Workstream 6: """ + "Word " * 60 + """
- f
### Workstream 7: Logs
- g
"""
NO_FREE_PORTS = ("no free ports: above PORT=65000 there is no room for another worktree's "
                 "PORT; lower it with --base-port")


def frontmatter(body: str, text: str = ONE) -> str:
    return f"---\n{body}\n---\n{text}"


def many_workstreams(count: int) -> str:
    return "## Workstreams\n" + "".join(f"### Workstream {n}: W{n}\n**Files**: `w{n}/**`\n"
                                        "- task\n" for n in range(1, count + 1))


# --- what must not change ---------------------------------------------------------------

def folder_content(folder: Path) -> dict[str, bytes | None] | None:
    """Every file (path -> bytes) and folder (path -> None) under `folder`, lock files left
    out (they only hold the pid of their last user); None when `folder` does not exist."""
    if not folder.exists():
        return None
    found: dict[str, bytes | None] = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_symlink():
            found[relative] = b"-> " + str(path.readlink()).encode()
        elif path.is_dir():
            found[relative] = None
        elif path.suffix != ".lock":
            found[relative] = path.read_bytes()
    return found


def repo_state(repo: Path) -> dict[str, object]:
    """What a refusal must leave as it was: the user's checkout (branch, HEAD, index, status,
    refs), git's worktree list and exclude file, and all of .worktrees/."""
    exclude = repo / ".git" / "info" / "exclude"
    view = snapshot(repo)
    view["status"] = "\n".join(line for line in view["status"].splitlines()
                               if not line.endswith(".lock"))
    return {
        "git": view,
        "worktree list": subprocess.run(["git", "worktree", "list", "--porcelain"], cwd=repo,
                                        capture_output=True, text=True, check=True).stdout,
        "exclude": exclude.read_text() if exclude.exists() else None,
        ".worktrees": folder_content(repo / ".worktrees"),
    }


def expect_unchanged(repo: Path, before: dict[str, object]) -> None:
    """`repo_state` again, compared part by part (so a failure names what changed)."""
    after = repo_state(repo)
    git_before, git_after = before["git"], after["git"]
    assert isinstance(git_before, dict) and isinstance(git_after, dict)
    for key in git_before:
        assert git_after[key] == git_before[key], \
            f"git {key} changed: {git_before[key]!r} -> {git_after[key]!r}"
    for key in ("worktree list", "exclude"):
        assert after[key] == before[key], f"{key} changed"
    files_before, files_after = before[".worktrees"], after[".worktrees"]
    if files_before is None or files_after is None:
        assert files_after == files_before, ".worktrees/ appeared or vanished"
        return
    assert isinstance(files_before, dict) and isinstance(files_after, dict)
    assert sorted(set(files_after) - set(files_before)) == [], "files added under .worktrees/"
    assert sorted(set(files_before) - set(files_after)) == [], "files gone from .worktrees/"
    assert [name for name in files_before if files_after[name] != files_before[name]] == [], \
        "files changed under .worktrees/"


# --- what a refusal must look like --------------------------------------------------------

def expect_no_traceback(result: Result) -> None:
    assert TRACEBACK not in result.out + result.err, result
    assert "unexpected error" not in result.err, result


def expect_error(result: Result, message: str) -> None:
    """Exit 1 and exactly one line `dispatch: error: <message>` on stderr (the whole
    message: a part of it would pass with the fix-it advice gone), nothing on stdout."""
    expect_no_traceback(result)
    assert (result.code, result.out, result.err) == (1, "", f"dispatch: error: {message}\n")


def expect_usage(result: Result, command: str, error: str) -> None:
    """Exit 2 and click's usage error: the usage line, where to get help, and ONE error line."""
    expect_no_traceback(result)
    assert (result.code, result.out) == (2, ""), result
    lines = result.err.splitlines()
    usage = f"Usage: dispatch {command} " if command else "Usage: dispatch "
    assert lines[0].startswith(usage), result
    help_of = f"dispatch {command} -h" if command else "dispatch -h"
    assert lines[1:] == [f"Try '{help_of}' for help.", "", f"Error: {error}"], result


# --- the tables -------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    """One refused command: its arguments, the files it finds, and what it must say.

    `message` may hold `{repo}` (the repository's path).
    """

    id: str
    argv: tuple[str, ...]
    message: str
    code: int = 1
    files: Mapping[str, str | bytes] = field(default_factory=dict)
    arrange: Callable[[Path], object] | None = None  # more set-up, before the snapshot


def _bad_feature_name(name: str) -> str:
    if len(name) > 48:
        return f"feature name {shown(name)} is longer than 48 characters; choose a shorter one"
    return f"invalid feature name {shown(name)}: {NAME_RULE}"


def _feature_case(key: str, name: str) -> Case:
    why = _bad_feature_name(name)
    return Case(f"frontmatter-feature-{key}", ("start", "hostile/fm.md", "--no-agents"),
                f"hostile/fm.md:2: frontmatter feature: {why}",
                files={"hostile/fm.md": frontmatter(f"feature: {json.dumps(name)}")})


def _new_name_case(key: str, name: str) -> Case:
    if name.startswith("../"):
        return Case(f"start-new-name-{key}", ("start", "--", name),
                    f"{name}: no such spec file; check the path (specs usually live in specs/)")
    return Case(f"start-new-name-{key}", ("start", "--", name), _bad_feature_name(name))


FEATURE_NAME_CASES = [_feature_case(k, v) for k, v in HOSTILE_NAMES.items()]
NEW_NAME_CASES = [_new_name_case(k, v) for k, v in HOSTILE_NAMES.items()] + [
    Case("start-new-name-reserved", ("start", "head"),
         "feature name 'head' is reserved by dispatch; choose another"),
    Case("start-new-name-dotdot", ("start", ".."), "'..' is a folder; pass a spec file "
         "(specs/<name>.md), an existing feature, or a new feature name"),
    Case("start-new-name-lock-suffix", ("start", "x.lock"),
         f"invalid feature name 'x.lock': {NAME_RULE}"),
    Case("start-option-without-dashdash", ("start", "-rf"), "No such option: -r", code=2),
    Case("start-upload-pack-without-dashdash", ("start", "--upload-pack=evil"),
         "No such option: --upload-pack", code=2),
]

_NO_WS = ("no workstreams found: add a '## Workstreams' section with one '### Workstream N: "
          "Title' heading per parallel unit, each with a '**Goal**:' line and task bullets "
          "('dispatch plan SPEC --explain' shows how each heading was read); or, if it is "
          "one worker's instructions, pass it with the others (two or more files: dispatch "
          "start a.md b.md) to run each as a worker")


def _spec(case_id: str, text: str | bytes, message: str, *,
          extra: tuple[str, ...] = (), env: str | bytes | None = None,
          arrange: Callable[[Path], object] | None = None) -> Case:
    """`dispatch start hostile/<id>.md --no-agents`; '@' in the message is the spec's path."""
    files: dict[str, str | bytes] = {f"hostile/{case_id}.md": text}
    if env is not None:
        files[".env"] = env
    return Case(case_id, ("start", f"hostile/{case_id}.md", "--no-agents", *extra),
                message.replace("@", f"hostile/{case_id}.md"), files=files,
                arrange=arrange)


SPEC_CASES = [
    _spec("binary", b"## Workstreams\n### Api\n- a\x00\x01\x02\xff\n",
          "@:3: spec is binary (holds NUL bytes), not markdown text"),
    _spec("empty", b"", f"@: {_NO_WS}"),
    _spec("blank", "\n \n\t\n", f"@: {_NO_WS}"),
    _spec("huge", ONE + "x" * HUGE, f"@: spec is {len(ONE) + HUGE:,} bytes; the limit is 2 MB "
          "— is this the right file?"),
    _spec("latin1", b"## Workstreams\n### Caf\xe9\n- a\n",
          "@:2: spec is not UTF-8 text; save it as UTF-8"),
    _spec("utf16", "## Workstreams\n### Api\n- a\n".encode("utf-16"),
          "@:1: spec is binary (holds NUL bytes), not markdown text"),
    _spec("fm-port-string", frontmatter('base_port: "abc"'),
          "@:2: frontmatter base_port: input should be a valid integer"),
    _spec("fm-port-bool", frontmatter("base_port: true"),
          "@:2: frontmatter base_port: input should be a valid integer"),
    _spec("fm-parallel-list", frontmatter("max_parallel: [1, 2]"),
          "@:2: frontmatter max_parallel: input should be a valid integer"),
    _spec("fm-feature-int", frontmatter("feature: 42"),
          "@:2: frontmatter feature: input should be a valid string"),
    _spec("fm-list", frontmatter("- a\n- b"),
          "@:2: frontmatter must be a mapping of `key: value` lines"),
    _spec("fm-workstreams-list", frontmatter("workstreams: [api]"),
          "@:2: frontmatter workstreams: input should be a valid dictionary"),
    _spec("fm-nested-type", frontmatter("workstreams:\n  api:\n    max_turns: lots"),
          "@:4: frontmatter workstreams.api.max_turns: input should be a valid integer"),
    _spec("fm-unknown-key", frontmatter("bogus: 1"), "@:2: frontmatter bogus: unknown key"),
    _spec("fm-python-tag", frontmatter('!!python/object/apply:os.system ["touch pwned"]'),
          "@:2: frontmatter is not valid YAML (could not determine a constructor for the tag "
          "'tag:yaml.org,2002:python/object/apply:os.system')"),
    _spec("fm-unclosed", "---\nfeature: ok\n" + ONE,
          "@:1: frontmatter starts with '---' but never ends; close it with a line '---'"),
    _spec("fm-permission-mode", frontmatter("permission_mode: yolo"),
          "@:2: frontmatter permission_mode: input should be 'acceptEdits', 'auto', "
          "'bypassPermissions', 'default', 'dontAsk' or 'plan'"),
    _spec("fm-base-port-too-high", frontmatter("base_port: 65500"),
          "@:2: frontmatter base_port: input should be less than or equal to 65000"),
    _spec("fm-override-traversal", frontmatter('workstreams:\n  "../x": {model: opus}'),
          "@:3: frontmatter workstreams.../x: no workstream is named '../x' (the names are: "
          "api)"),
    _spec("duplicate", "## Workstreams\n### Api\n- a\n### API!\n- b\n",
          "@:4: duplicate workstream 'api': line 2 (`### Api`) and line 4 (`### API!`); give "
          "each workstream a distinct title"),
    _spec("duplicate-number", "## Workstreams\n### Workstream 1: Api\n- a\n"
          "### Workstream 1: Web\n- b\n",
          "@:4: workstream number 1 is used twice: line 2 (`### Workstream 1: Api`) and line 4 "
          "(`### Workstream 1: Web`); number the workstreams 1, 2, 3, ..."),
    _spec("cycle", "## Workstreams\n### Api (after Web)\n- a\n### Web (after Api)\n- b\n",
          "@:2: dependency cycle: api -> web -> api; remove one of these dependencies"),
    _spec("cycle-of-three", "## Workstreams\n### Workstream 1: Api (after workstream 3)\n- a\n"
          "### Workstream 2: Web (after workstream 1)\n- b\n"
          "### Workstream 3: Docs (after workstream 2)\n- c\n",
          "@:2: dependency cycle: api -> docs -> web -> api; remove one of these dependencies"),
    _spec("self-dependency", "## Workstreams\n### Workstream 1: Api (after workstream 1)\n- a\n",
          "@:2: dependency cycle: api -> api; a workstream cannot depend on itself: remove "
          "that dependency"),
    _spec("unknown-dependency", "## Workstreams\n### Workstream 1: Api (after workstream 7)\n"
          "- a\n", "@:2: unknown dependency workstream 7 in 'after workstream 7'; refer to "
          "workstreams by number or name"),
    _spec("branch-traversal", "## Workstreams\n### Api\n**Branch**: `../evil`\n- a\n",
          "@:2: branch '../evil' of workstream 'api' is not a valid git branch name"),
    _spec("branch-option", "## Workstreams\n### Api\n**Branch**: `-rf`\n- a\n",
          "@:2: branch '-rf' of workstream 'api' is not a valid git branch name"),
    _spec("base-tree", ONE, "base 'HEAD^{tree}' does not name a commit; pass an existing "
          "branch, tag or commit to --base (see 'git branch -a')",
          extra=("--base", "HEAD^{tree}")),
    _spec("base-blob", ONE, "base 'HEAD:README.md' does not name a commit; pass an existing "
          "branch, tag or commit to --base (see 'git branch -a')",
          extra=("--base", "HEAD:README.md")),
    _spec("base-option", ONE, "base '--upload-pack=touch pwned' does not name a commit; pass "
          "an existing branch, tag or commit to --base (see 'git branch -a')",
          extra=("--base=--upload-pack=touch pwned",)),
    _spec("base-port-out-of-range", ONE, "--base-port 65001 is out of range for worktree "
          "ports; use a port between 1024 and 65000 (e.g. --base-port 8000)",
          extra=("--base-port", "65001")),
    _spec("many-workstreams-at-65000", many_workstreams(540), NO_FREE_PORTS,
          extra=("--base-port", "65000")),
    _spec("env-port-too-low", ONE, "the .env's PORT 80 is out of range for worktree ports; "
          "use a port between 1024 and 65000 (e.g. --base-port 8000)", env="PORT=80\n"),
    Case("spec-is-a-directory", ("start", "hostile/", "--no-agents"),
         "hostile/: is not a file; pass the spec's markdown file",
         files={"hostile/keep.md": ONE}),
    Case("plan-of-a-directory", ("plan", "hostile"),
         "hostile: is not a file; pass the spec's markdown file",
         files={"hostile/keep.md": ONE}),
    Case("start-of-a-directory-without-slash", ("start", "hostile", "--no-agents"),
         "'hostile' is a folder; pass a spec file (specs/<name>.md), an existing feature, or "
         "a new feature name",
         files={"hostile/keep.md": ONE}),
    Case("spec-missing", ("plan", "hostile/nope.md"),
         "hostile/nope.md: no such spec file; check the path (specs usually live in specs/)"),
    Case("spec-path-300-chars", ("plan", f"specs/{LONG}.md"),
         f"{f'specs/{LONG}'[:77] + '...'!r}: cannot be a spec file (File name too long); "
         "check the path"),
]

USAGE_CASES = [  # (id, argv, command shown in the usage line, the error line)
    ("unknown-option", ("start", "specs/two.md", "--bogus"), "start",
     "No such option: --bogus (Possible options: --base, --budget-usd)"),
    ("unknown-command", ("frobnicate",), "", "No such command 'frobnicate'."),
    ("missing-argument", ("plan",), "plan", "Missing argument 'SPEC'."),
    ("status-unknown-option", ("status", "--upload-pack=x"), "status",
     "unrecognized arguments: --upload-pack=x"),
    ("status-short-option", ("status", "-rf"), "status", "unrecognized arguments: -rf"),
    ("base-port-not-a-number", ("start", "specs/two.md", "--base-port", "abc"), "start",
     "Invalid value for '--base-port': 'abc' is not a valid int."),
    ("max-parallel-zero", ("start", "specs/two.md", "--max-parallel", "0"), "start",
     "Invalid value for '--max-parallel': 0 is not in the range 1<=x<=64."),
    ("logs-without-workstream", ("logs",), "logs", "Missing argument 'workstream'."),
    ("integrate-unknown-option", ("integrate", "two", "--frobnicate"), "integrate",
     "No such option: --frobnicate (Possible options: --force, --remote)"),
    ("resume-option-as-workstream", ("resume", "--upload-pack=evil"), "resume",
     "No such option: --upload-pack"),
]

_NO_FEATURE = ("no feature {shown} in {repo}/.worktrees (features here: two); start one with "
               "'dispatch start specs/<spec>.md'")
_NO_WS_IN_TWO = "feature 'two' has no workstream {shown} (it has: api, web)"


def _feature_arg_cases() -> list[Case]:
    """Hostile names where a command takes an existing feature."""
    cases = []
    for command in ("status", "integrate", "stop", "check"):
        for key in ("traversal", "short-option", "upload-pack", "subshell", "space", "quote"):
            name = HOSTILE_NAMES[key]
            if command in ("integrate", "check") and key in ("space", "quote", "subshell"):
                continue  # enough of those through status and stop
            # `stop` takes workstreams (a feature with -f): the name is judged as one.
            expected = _NO_WS_IN_TWO.format(shown=shown(name)) if command == "stop" else \
                _NO_FEATURE.format(shown=shown(name), repo="{repo}")
            cases.append(Case(f"{command}-feature-{key}", (command, "--", name), expected))
    return cases


def _workstream_arg_cases() -> list[Case]:
    cases = []
    for key in ("traversal", "short-option", "upload-pack", "300-chars"):
        name = HOSTILE_NAMES[key]
        cases.append(Case(f"resume-workstream-{key}", ("resume", "--", name),
                          _NO_WS_IN_TWO.format(shown=shown(name))))
        cases.append(Case(f"logs-workstream-{key}", ("logs", "--", name),
                          _NO_WS_IN_TWO.format(shown=shown(name))))
        cases.append(Case(f"integrate-only-{key}", ("integrate", "two", f"--only={name}"),
                          f"--only names unknown workstream(s) {name} (the workstreams are: "
                          "api, web)"))
    return cases


FEATURE_ARG_CASES = _feature_arg_cases() + _workstream_arg_cases() + [
    Case("resume-unknown-workstream", ("resume", "nope"),
         "feature 'two' has no workstream 'nope' (it has: api, web)"),
    Case("resume-lookalike-workstream", ("resume", LOOKALIKE),
         _NO_WS_IN_TWO.format(shown="'\\u0430pi'")),
    *[Case(f"stop-workstream-{key}", ("stop", "two", "--", HOSTILE_NAMES[key]),
           _NO_WS_IN_TWO.format(shown=shown(HOSTILE_NAMES[key])))
      for key in ("traversal", "short-option", "upload-pack")],
    *[Case(f"resume-workstream-{key}", ("resume", "--", HOSTILE_NAMES[key]),
           _NO_WS_IN_TWO.format(shown=f"'{HOSTILE_NAMES[key]}'"))
      for key in ("space", "subshell")],
    Case("logs-workstream-newline", ("logs", "--", "a\nb"),
         _NO_WS_IN_TWO.format(shown="'a\\nb'")),
    Case("logs-workstream-quote", ("logs", "--", "a'b"), _NO_WS_IN_TWO.format(shown="\"a'b\"")),
    Case("logs-of-a-workstream-that-never-ran", ("logs", "api"),
         "api has no logs yet: its session has not run; start it with 'dispatch start two' or "
         "'dispatch resume api'"),
    Case("integrate-nothing-done", ("integrate", "two"),
         "nothing to integrate: no workstream is done (api: pending, web: pending); resume "
         "them, or choose with --include / --only"),
    Case("integrate-remote-option", ("integrate", "two", "--remote",
                                     "--upload-pack=touch pwned"),
         "'--upload-pack=touch pwned' is not a remote name (it starts with '-'); name one of "
         "'git remote -v'"),
]


def _env_outside(repo: Path) -> None:
    outside = repo.parent / "outside-secrets.env"
    outside.write_text("PORT=1\nTOKEN=sentinel-secret\n")
    (repo / ".env").symlink_to(outside)


def _env_broken_link(repo: Path) -> None:
    (repo / ".env").symlink_to("missing.env")


def _env_folder(repo: Path) -> None:
    (repo / ".env").mkdir()


def _env_fifo(repo: Path) -> None:
    os.mkfifo(repo / ".env")


_NOT_REGULAR = ".env is not a regular file (or its symlink is broken); fix it or pass --no-env"
ENV_CASES = [
    _spec("env-symlink-outside", ONE, ".env is a symlink to a file outside the repository; "
          "dispatch will not copy it into worktrees: make it a regular file, or pass --no-env",
          arrange=_env_outside),
    _spec("env-broken-symlink", ONE, _NOT_REGULAR, arrange=_env_broken_link),
    _spec("env-folder", ONE, _NOT_REGULAR, arrange=_env_folder),
    _spec("env-fifo", ONE, _NOT_REGULAR, arrange=_env_fifo),
    _spec("env-not-dotenv", ONE, ".env line 2 is not valid dotenv syntax (KEY=value); fix that "
          "line or pass --no-env", env="PORT=8000\nthis is not dotenv\n"),
    _spec("env-unquoted-quote", ONE, ".env line 1 is not valid dotenv syntax (KEY=value); fix "
          "that line or pass --no-env", env="SECRET='never closed\n"),
    _spec("env-not-utf8", ONE, ".env cannot be read as text (UnicodeDecodeError); fix it or "
          "pass --no-env", env=b"PORT=8000\nNAME=caf\xe9\n"),
    _spec("env-port-too-high", ONE, "no free ports: above DB_PORT=65535 there is no room for "
          "another worktree's DB_PORT; lower it in .env", env="PORT=8000\nDB_PORT=65535\n"),
]
