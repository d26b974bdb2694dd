"""The fake `claude` executable (tests/support/fake_claude.py), installed for one test."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from tests.support.paths import REPO_ROOT


class FakeClaude:
    """The fake `claude` and what it recorded."""

    def __init__(self, folder: Path) -> None:
        self.state = folder / "state"
        self.state.mkdir(parents=True)
        self.path = folder / "bin" / "claude"
        self.path.parent.mkdir()
        self.path.write_text(f'#!/bin/sh\nexec "{sys.executable}" '
                             f'"{REPO_ROOT / "tests/support/fake_claude.py"}" "$@"\n')
        self.path.chmod(0o755)

    def script(self, steps: dict[str, list[dict[str, object]]]) -> None:
        (self.state / "script.json").write_text(json.dumps(steps))

    def calls(self) -> list[dict[str, Any]]:
        log = self.state / "calls.jsonl"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() \
            else []
