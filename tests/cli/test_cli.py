"""The command-line shell: help, version, exit codes, and `dispatch plan`."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from dispatch import __version__
from dispatch.cli import main
from tests.support.paths import EXAMPLE_SPEC

SMALL = "# Small\n## Workstreams\n### Api\n**Goal**: serve\n**Files**: `api/**`\n- a\n- b\n" \
        "### Web (after Api)\n- c\n"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--version") == (0, f"dispatch {__version__}\n", "")


def test_short_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "-h")
    assert (code, err) == (0, "")
    assert out.startswith("Usage: dispatch [OPTIONS] COMMAND [ARGS]...")
    commands = out.split("Commands:\n", 1)[1].splitlines()
    assert [line.split()[0] for line in commands] == [
        "plan", "split", "start", "status", "resume", "tell", "attach", "stop", "logs", "setup",
        "repair", "check", "integrate", "clean", "compare", "pick", "install-commands", "demo"]


def test_plan_table(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("small.md").write_text(SMALL)
    code, out, err = run(capsys, "plan", "@small.md")
    assert (code, err) == (0, "")
    lines = out.splitlines()  # off a terminal: plain lines, nothing cut
    assert lines[:3] == [
        "Small — feature 'small', 2 workstreams",
        "1.  api  files api/**  2 tasks  goal: serve",
        "2.  web  after api  1 tasks  goal: Web",
    ]
    assert lines[3].startswith("2 Claude session(s) · model sonnet")


def test_plan_json_is_the_documented_shape(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "small.md").write_text(SMALL)
    code, out, err = run(capsys, "plan", str(tmp_path / "small.md"), "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert {k: data[k] for k in ("feature", "title", "spec")} == {
        "feature": "small", "title": "Small", "spec": str(tmp_path / "small.md")}
    assert [{k: ws[k] for k in ("name", "title", "goal", "tasks", "files", "depends_on")}
            for ws in data["workstreams"]] == [
        {"name": "api", "title": "Api", "goal": "serve", "tasks": ["a", "b"],
         "files": ["api/**"], "depends_on": []},
        {"name": "web", "title": "Web", "goal": "Web", "tasks": ["c"], "files": [],
         "depends_on": ["api"]},
    ]
    assert data["warnings"] == []


def test_plan_warnings_go_to_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("s.md").write_text("## Workstreams\n### A\nFiles: `x/**`\n- a\n"
                            "### B\nFiles: `x/y.py`\n- b\n")
    code, _out, err = run(capsys, "plan", "s.md")
    assert (code, err) == (0, "s.md:5: warning: a and b both own x/** ~ x/y.py: expect merge "
                              "conflicts there\n")


def test_plan_has_no_side_effects(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("small.md").write_text(SMALL)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert run(capsys, "plan", "small.md")[0] == 0
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize(("text", "message"), [
    ("## Workstreams\n### A\nDepends on: 2\n### B\nDepends on: 1\n",
     "dispatch: error: s.md:2: dependency cycle: a -> b -> a; remove one of these dependencies\n"),
    ("## Workstreams\n### A\nDepends on: 9\n",
     "dispatch: error: s.md:3: unknown dependency workstream 9 in '9'; refer to workstreams by "
     "number or name\n"),
])
def test_plan_errors_are_one_line_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch, text: str,
                                         message: str) -> None:
    monkeypatch.chdir(tmp_path)
    Path("s.md").write_text(text)
    assert run(capsys, "plan", "s.md") == (1, "", message)


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "plan", "--bogus")
    assert (code, out) == (2, "")
    assert err.endswith("Error: No such option: --bogus\n")


def test_unexpected_error_is_short_and_logged(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import dispatch.spec.parse

    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    # Simulates a bug inside dispatch to check how bugs are reported.
    monkeypatch.setattr(dispatch.spec.parse, "parse_spec", explode)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    (tmp_path / "s.md").write_text(SMALL)
    code, out, err = run(capsys, "plan", str(tmp_path / "s.md"))
    assert (code, out) == (70, "")
    assert err.startswith("dispatch: unexpected error (RuntimeError: boom); this is a bug in "
                          "dispatch. Traceback saved to ")
    log = Path(err.strip().rsplit(" ", 1)[1])
    assert "Traceback (most recent call last)" in log.read_text()
    assert log.parent == tmp_path
    assert "Traceback (most recent call last)" not in err


def test_ctrl_c_exits_130(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                          monkeypatch: pytest.MonkeyPatch) -> None:
    import dispatch.spec.parse

    def interrupted(*_args: object, **_kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(dispatch.spec.parse, "parse_spec", interrupted)
    (tmp_path / "s.md").write_text(SMALL)
    assert run(capsys, "plan", str(tmp_path / "s.md"))[0] == 130


def test_as_a_process_no_traceback_for_a_missing_spec(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "dispatch", "plan", "@specs/missing.md"],
                          cwd=tmp_path, capture_output=True, text=True, check=False)
    assert (proc.returncode, proc.stdout, proc.stderr) == (
        1, "", "dispatch: error: specs/missing.md: no such spec file; check the path (specs "
               "usually live in specs/)\n")


def test_example_spec_plans(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "plan", str(EXAMPLE_SPEC), "--json")
    assert code == 0
    assert len(json.loads(out)["workstreams"]) == 5


def test_fast_status_parser_accepts_what_the_typer_command_documents() -> None:
    from typer.main import get_command

    from dispatch.cli import fast, load_app

    typer_status = get_command(load_app()).commands["status"]  # type: ignore[attr-defined]
    documented = {opt for param in typer_status.params for opt in
                  [*param.opts, *param.secondary_opts] if opt.startswith("-")} - {"-h", "--help"}
    fast_options = {opt for action in fast.parser()._actions for opt in action.option_strings}
    assert documented == fast_options
    assert fast.handles(["status", "--json"]) and not fast.handles(["status", "-h"])


def test_fast_status_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "status", "--bogus") == (2, "", (
        "Usage: dispatch status [OPTIONS] [FEATURE]\nTry 'dispatch status -h' for help.\n\n"
        "Error: unrecognized arguments: --bogus\n"))


def test_status_help_goes_to_typer(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "status", "-h")
    assert code == 0 and out.startswith("Usage: dispatch status [OPTIONS] [FEATURE]")
    assert "--watch" in out and "--json" in out
