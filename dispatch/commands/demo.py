"""`dispatch demo`: the whole workflow on a built-in sample project, in a throwaway repository.

plan -> start (wait) -> status -> check -> integrate, each run as the `dispatch` command a
user would type, in a fresh git repository made from dispatch/resources/sample/. The
rehearsal worker does the work unless `--claude` asks for real Claude Code sessions (which
cost money).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from dispatch import resources
from dispatch.core import ui
from dispatch.gitops import repository

SPEC = "specs/2026_01_01_12_00_00_greetings.md"
_RENAMED = {"env": ".env", "gitignore": ".gitignore"}  # dotfiles are not package data


def make_repository(where: Path) -> Path:
    sample = resources.sample()
    repo = where / "greetings"
    shutil.copytree(sample / "project", repo)
    for packaged, real in _RENAMED.items():
        (repo / packaged).rename(repo / real)
    (repo / "specs").mkdir()
    shutil.copyfile(sample / "spec.md", repo / SPEC)
    repository.create(repo, "The greet sample project", ("dispatch demo", "demo@dispatch.invalid"))
    return repo


def run(where: Path | None, *, use_claude: bool) -> int:
    folder = where or Path(tempfile.mkdtemp(prefix="dispatch-demo-"))
    if where is not None:
        folder.mkdir(parents=True, exist_ok=True)
        if (folder / "greetings").exists():
            from dispatch.core.errors import DispatchError

            raise DispatchError(f"{folder / 'greetings'} already exists; pick another --dir")
    repo = make_repository(folder)
    ui.say(f"Sample repository: {repo}\n")
    start = ["start", SPEC, "--wait"] + ([] if use_claude else ["--rehearse"])
    steps = [["plan", SPEC], start, ["status"], ["check"], ["integrate"]]
    env = {**os.environ, "COLUMNS": str(shutil.get_terminal_size().columns),
           "DISPATCH_REHEARSAL_SECONDS": os.environ.get("DISPATCH_REHEARSAL_SECONDS", "1")}
    for args in steps:
        ui.say(f"$ dispatch {' '.join(args)}")
        code = subprocess.run([sys.executable, "-m", "dispatch", *args], cwd=repo,
                              env=env, check=False).returncode
        ui.say("")
        if code != 0:
            ui.say(f"dispatch {args[0]} exited with {code}; the repository is kept at {repo}")
            return code
    _where_everything_is(repo)
    return 0


def _where_everything_is(repo: Path) -> None:
    feature = repo / ".worktrees" / "greetings"
    ui.say("Where everything is:")
    for label, path in (
            ("the sample repository (your checkout, untouched)", repo),
            ("worktrees, one per workstream", feature),
            ("the state of every session", feature / "sessions.json"),
            ("the integration worktree (branch greetings/integration)",
             feature / "integration"),
            ("the integration report", feature / "INTEGRATION.md")):
        ui.say(f"  {label}: {path}")
    ui.say(f"Look around: cd {repo} && git log --oneline --graph greetings/integration")
