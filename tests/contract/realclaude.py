"""What every test that runs the real `claude` CLI shares: where the binary is, what happens
when it is missing, and an environment that keeps the CLI on loopback.

- The binary: ``DISPATCH_TEST_CLAUDE`` (default ``/tmp/cc/node_modules/.bin/claude``, the
  pinned npm ``@anthropic-ai/claude-code@2.1.197``).
- Missing binary: tests decorated with `needs_claude` are skipped, unless
  ``DISPATCH_REQUIRE_REAL_CLAUDE=1`` (CI sets it): then they fail and say why.
- Loopback only: `claude_env` points the API at the stand-in, drops inherited credentials
  and settings, and can send every other request to a `ProxyTrap` (the CLI honours
  ``HTTP(S)_PROXY`` and ``NO_PROXY``): a connection there means something tried to leave
  127.0.0.1; it is answered with nothing and recorded for the test to fail on.
"""

from __future__ import annotations

import functools
import os
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TypeVar, cast

import pytest

# .ci/run installs the pinned CLI here; DISPATCH_TEST_CLAUDE points elsewhere.
PINNED = Path(__file__).resolve().parents[2] / ".cache/claude-code/node_modules/.bin/claude"
CLAUDE = Path(os.environ.get("DISPATCH_TEST_CLAUDE", str(PINNED)))
REQUIRE_VAR = "DISPATCH_REQUIRE_REAL_CLAUDE"
LOOPBACK_HOSTS = "127.0.0.1,localhost"
# Inherited variables that could point the CLI elsewhere or at the user's own settings.
_DROPPED_PREFIXES = ("ANTHROPIC_", "CLAUDE", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
                     "NO_PROXY")

TestFunction = TypeVar("TestFunction", bound=Callable[..., object])


def missing_reason() -> str | None:
    """Why the real CLI cannot run here, or None when it can."""
    if not CLAUDE.is_file():
        return f"no claude binary at {CLAUDE} (set DISPATCH_TEST_CLAUDE)"
    if not os.access(CLAUDE, os.X_OK):
        return f"claude binary {CLAUDE} is not executable"
    return None


def needs_claude(test: TestFunction) -> TestFunction:
    """Skip `test` when the real CLI is missing; fail it instead under
    ``DISPATCH_REQUIRE_REAL_CLAUDE=1``, so CI cannot pass by skipping every contract test."""
    why = missing_reason()
    if why is None:
        return test
    if os.environ.get(REQUIRE_VAR) == "1":
        message = (f"{why}; {REQUIRE_VAR}=1 requires the real CLI (install it with "
                   "'npm install @anthropic-ai/claude-code@2.1.197' and point "
                   "DISPATCH_TEST_CLAUDE at node_modules/.bin/claude)")

        @functools.wraps(test)  # keeps the signature: pytest still supplies the fixtures
        def fail(*args: object, **kwargs: object) -> None:
            del args, kwargs
            pytest.fail(message, pytrace=False)

        return cast(TestFunction, fail)
    return cast(TestFunction, pytest.mark.skip(reason=why)(test))


def claude_env(base_url: str, home: Path, extra: dict[str, str] | None = None, *,
               proxy: str | None = None) -> dict[str, str]:
    """Environment for the CLI: loopback API, fresh config, no inherited credentials.

    `proxy`: where requests to anything but loopback go (see `ProxyTrap`).
    """
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith(_DROPPED_PREFIXES)}
    env.update(
        ANTHROPIC_BASE_URL=base_url,
        ANTHROPIC_API_KEY="test-key",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",  # no telemetry / update checks
        DISABLE_AUTOUPDATER="1",
        CLAUDE_CODE_MAX_RETRIES="0",  # errors surface at once instead of retrying
        HOME=str(home),
        CLAUDE_CONFIG_DIR=str(home / ".claude"),
        NO_PROXY=LOOPBACK_HOSTS,
        no_proxy=LOOPBACK_HOSTS,
    )
    if proxy is not None:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
            env[name] = env[name.lower()] = proxy
    env.update(extra or {})
    return env


def use_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    """Make `env` this process's whole environment for the test (undone afterwards).

    dispatch's supervisor is a detached process that inherits the environment of whoever
    starts it, and passes it on to claude: setting it here is how it reaches the CLI.
    """
    for name in list(os.environ):
        if name not in env:
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)


class ProxyTrap:
    """A loopback "proxy" that records every connection and answers none of them."""

    def __init__(self) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen()
        self.connections: list[bytes] = []  # the first bytes each connection sent

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def __enter__(self) -> ProxyTrap:
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            self._socket.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        except OSError:
            pass
        self._socket.close()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._socket.accept()
            except OSError:
                return  # closed
            with conn:
                conn.settimeout(2)
                try:
                    self.connections.append(conn.recv(200))
                except OSError:
                    self.connections.append(b"")
