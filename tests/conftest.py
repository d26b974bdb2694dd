"""Every test runs with git sealed off from the real user: fixed identity and dates, a
temporary global config and home folder, and no system config."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import corpus_report
from tests.support.cli import Result
from tests.support.fakes import FakeClaude
from tests.support.gitrepo import make_repo

_REMOVED = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "XDG_CONFIG_HOME", "CLAUDE_CLI_PATH",
            "MAX_CLAUDE_WORKERS", "ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "CLAUDE_CONFIG_DIR",
            "DISPATCH_DEBUG")


@pytest.fixture(autouse=True)
def sealed_git(tmp_path_factory: pytest.TempPathFactory,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("home")
    config = home / ".gitconfig"
    config.write_text("[user]\n\tname = Test User\n\temail = test@example.com\n"
                      "[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"
                      "[commit]\n\tgpgsign = false\n[core]\n\thooksPath = /dev/null\n")
    for name in _REMOVED:
        monkeypatch.delenv(name, raising=False)
    for key, value in {
        "HOME": str(home), "GIT_CONFIG_GLOBAL": str(config), "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "Test User", "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test User", "GIT_COMMITTER_EMAIL": "test@example.com",
        "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
        "COLUMNS": "200", "NO_COLOR": "1", "TZ": "UTC",
    }.items():
        monkeypatch.setenv(key, value)
    yield home


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "repo", {"README.md": "# project\n",
                                         "app/__init__.py": "", "app/main.py": "print('hi')\n"})


def pytest_configure(config: pytest.Config) -> None:
    del config
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    corpus_report.collect(report)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    corpus_report.summarize(terminalreporter)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        repo: Path) -> Callable[..., Result]:
    """Run dispatch in-process, by default from the `repo` fixture's top level."""
    from dispatch.cli import main

    def run(*argv: str, cwd: Path | None = None) -> Result:
        monkeypatch.chdir(cwd or repo)
        capsys.readouterr()
        code = main(list(argv))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run


@pytest.fixture
def fake_claude(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeClaude:
    fake = FakeClaude(tmp_path / "fake-claude")
    monkeypatch.setenv("FAKE_CLAUDE_STATE", str(fake.state))
    monkeypatch.setenv("CLAUDE_CLI_PATH", str(fake.path))
    return fake


@pytest.fixture
def immutable() -> Iterator[Callable[[Path], None]]:
    """Make a folder immutable (`chattr +i`): read-only even for root; undone afterwards."""
    frozen: list[Path] = []

    def freeze(path: Path) -> None:
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True,
                          check=False).returncode != 0:
            pytest.skip("chattr +i is not available here")
        frozen.append(path)

    yield freeze
    for path in frozen:
        subprocess.run(["chattr", "-i", str(path)], check=True)
