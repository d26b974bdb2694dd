"""Fixtures of the contract tests that run dispatch against the real CLI."""

from __future__ import annotations

import contextlib
import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dispatch.sessions import client
from dispatch.state.paths import FeaturePaths
from tests.contract.dispatch_support import FEATURE, SPEC, PointClaude, tool_processes
from tests.contract.realclaude import ProxyTrap, claude_env, use_env
from tests.support.gitrepo import commit


@pytest.fixture
def spec(repo: Path) -> str:
    commit(repo, {"specs/solo.md": SPEC}, "spec")
    return "specs/solo.md"


@pytest.fixture
def claude_home(tmp_path: Path) -> Path:
    """The CLI's HOME and CLAUDE_CONFIG_DIR (its sessions are saved there)."""
    path = tmp_path / "claude-home"
    path.mkdir()
    return path


@pytest.fixture
def trap() -> Iterator[ProxyTrap]:
    with ProxyTrap() as found:
        yield found
    assert found.connections == [], "something tried to reach beyond 127.0.0.1"


@pytest.fixture
def point_claude(monkeypatch: pytest.MonkeyPatch, claude_home: Path,
                 trap: ProxyTrap) -> PointClaude:
    """Set this process's environment, hence the supervisor's and claude's, for an API."""

    def point(base_url: str, *, api_key: bool = True) -> None:
        env = claude_env(base_url, claude_home, proxy=trap.url)
        if not api_key:
            del env["ANTHROPIC_API_KEY"]
        use_env(monkeypatch, env)

    return point


@pytest.fixture
def long_command() -> Iterator[str]:
    """A Bash tool command that runs for 30 s, marked so that its processes can be found;
    any left at the end are ended (by their process group: the CLI gives each its own)."""
    command = f"sleep 30; echo {uuid.uuid4().hex}"
    yield command
    for process in tool_processes(command):
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture
def no_supervisor_left(repo: Path) -> Iterator[None]:
    """A failing test must not leave its detached supervisor (or a session) running."""
    yield
    paths = FeaturePaths(repo, FEATURE)
    if paths.dir.is_dir():
        client.stop(paths, None)


