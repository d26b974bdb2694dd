"""A verify command runs to its end and leaves nothing running: what it started in the
background (a test server it forgot, `(sleep &)`) is stopped with it."""

from __future__ import annotations

from pathlib import Path

import psutil

from dispatch.workspace.verify import run_verify


def _left(marker: str) -> list[psutil.Process]:
    """What still runs: a zombie has ended already. It waits to be reaped by the process
    that adopted it (PID 1, which in some containers never reaps), not by dispatch."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        if process.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        if marker in " ".join(process.info["cmdline"] or []):
            found.append(process)
    return found


def test_a_verify_leaves_no_background_process(tmp_path: Path) -> None:
    marker = f"{tmp_path}/forgotten"
    script = tmp_path / "forgotten"
    script.write_text("sleep 300\n")
    command = f"(sh {marker} &) ; true"
    try:
        assert run_verify(command, tmp_path, {}, tmp_path / "verify.log") is True
        assert _left(marker) == []
    finally:
        for process in _left(marker):
            process.kill()
