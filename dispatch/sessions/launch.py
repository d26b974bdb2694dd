"""Starting one session run as a detached process, and reading what it left behind.

A run writes its stdout (the result JSON) and stderr to files under logs/, not pipes: it
keeps running, and its result stays readable, even if the supervisor that started it dies.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

from dispatch.core.files import open_log
from dispatch.sessions import claude_cli
from dispatch.sessions.run_result import RunFiles
from dispatch.state.model import FeatureState, SessionRecord
from dispatch.state.paths import FeaturePaths
from dispatch.workspace import briefing

# Set when dispatch itself runs inside Claude Code (the slash command); a worker is a fresh,
# separate session and must not look like a nested one.
_PARENT_SESSION_VARS = ("CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT", "CLAUDE_CODE_SSE_PORT")


def new_session_id() -> str:
    return str(uuid.uuid4())


def session_call(paths: FeaturePaths, state: FeatureState, record: SessionRecord,
                 prompt: str, *, resume: bool) -> claude_cli.SessionCall:
    assert state.run is not None and record.session_id is not None
    ws = state.plan.workstream(record.name)
    options = claude_cli.effective(state.plan.agent, ws.agent, state.run.agent)
    return claude_cli.SessionCall(
        program=state.run.claude, session_id=record.session_id, resume=resume,
        options=options, prompt=prompt, feature_dir=paths.dir,
        system_prompt=briefing.prompt("system_prompt.md.j2", paths, state, ws))


def session_env(record: SessionRecord, feature: str) -> dict[str, str]:
    return base_env(feature, record.name, record.ports)


def base_env(feature: str, name: str, ports: dict[str, int]) -> dict[str, str]:
    """A session's environment: this one's, minus a parent session's marks, plus its ports
    and who it is (the judge of `audio` is `audio.judge`)."""
    env = {k: v for k, v in os.environ.items() if k not in _PARENT_SESSION_VARS}
    env.update({key: str(port) for key, port in ports.items()})
    env.update(DISPATCH_FEATURE=feature, DISPATCH_WORKSTREAM=name)
    return env


def spawn(argv: list[str], cwd: Path, env: dict[str, str], files: RunFiles,
          prompt: str | None = None) -> subprocess.Popen[bytes]:
    """Start the run in its own process group (so `stop` can end all of it), stdin closed.
    The stream begins with a line of dispatch's own saying what the run was told (its
    prompt), so the log shows every message a session got."""
    with open_log(files.stdout, "wb") as out, open_log(files.stderr, "wb") as err:
        if prompt is not None:
            out.write((json.dumps({"type": "dispatch", "subtype": "prompt", "prompt": prompt},
                                  ensure_ascii=False) + "\n").encode())
            out.flush()
        return subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=err, start_new_session=True, close_fds=True)


def find_session_process(session_id: str) -> int | None:
    """A running process whose command line names this session (after a lost pid)."""
    import psutil

    for process in psutil.process_iter(["pid", "cmdline"]):
        cmdline = process.info.get("cmdline") or []
        if session_id in cmdline and process.pid != os.getpid():
            return int(process.pid)
    return None

