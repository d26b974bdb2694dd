"""`dispatch logs`: a workstream's raw session output, stderr, setup and verify logs."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from dispatch.core.errors import DispatchError
from dispatch.core.text import visible
from dispatch.state.names import unknown_workstream
from dispatch.state.paths import FeaturePaths
from dispatch.state.store import StateStore


def runs(paths: FeaturePaths, name: str) -> list[int]:
    pattern = re.compile(rf"^{re.escape(name)}\.(\d+)\.(?:json|stderr)$")
    found = {int(m[1]) for p in paths.logs.glob(f"{name}.*") if (m := pattern.match(p.name))}
    return sorted(found)


def show(paths: FeaturePaths, name: str, *, all_runs: bool, setup_only: bool = False) -> None:
    state = StateStore(paths).load()
    if name not in state.workstreams:
        raise unknown_workstream(paths.feature, name, list(state.workstreams))
    attempts = [] if setup_only else runs(paths, name)
    extra = [p for p in (paths.logs / f"{name}.setup.log", paths.logs / f"{name}.verify.log")
             if p.exists() and (not setup_only or p.name.endswith(".setup.log"))]
    if not attempts and not extra:
        raise DispatchError(f"{name} has no logs yet: its session has not run; start it with "
                            f"'dispatch start {paths.feature}' or 'dispatch resume {name}'")
    for attempt in attempts if all_runs else attempts[-1:]:
        for suffix in ("json", "stderr"):
            _print(paths, paths.logs / f"{name}.{attempt}.{suffix}")
    for path in extra:
        _print(paths, path)


def _print(paths: FeaturePaths, path: Path) -> None:
    out = sys.stdout
    out.write(f"==> {paths.relative(path)} <==\n")
    try:
        text = path.read_text(errors="replace")
    except OSError:
        text = ""
    text = visible(text)  # a worker's output: nothing in it may steer the terminal
    out.write(text if text.endswith("\n") or not text else text + "\n")
    out.write("(empty)\n" if not text else "")
    out.flush()
