"""The `claude` program: finding it, and the exact command line of a session (pure data).

Defaults and why:
- model `sonnet`: capable and far cheaper than opus for parallel coding work;
- permission mode `acceptEdits`: edits inside the worktree (and the --add-dir feature folder)
  go through without prompts, which a headless session cannot answer;
- allowed tools `Bash`: workers must run git (to commit) and the project's tests; without it
  `acceptEdits` denies every shell command. Narrow it with e.g. `--allowed-tools
  "Bash(git:*) Bash(pytest:*)"`.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from dispatch.core.errors import DispatchError
from dispatch.state.plan import DEFAULT_AGENT, AgentOptions

DEFAULTS = DEFAULT_AGENT
INSTALL_HINT = ("install Claude Code ('npm install -g @anthropic-ai/claude-code'), or pass "
                "--claude PATH or set CLAUDE_CLI_PATH; to try dispatch without it use "
                "--rehearse, to provision only use --no-agents")


def find_claude(option: str | None) -> list[str]:
    """--claude PATH, else $CLAUDE_CLI_PATH, else `claude` on PATH; as an argv prefix."""
    given = option or os.environ.get("CLAUDE_CLI_PATH")
    if given:
        path = Path(given).expanduser()
        found = str(path) if path.exists() else shutil.which(given)
        if found is None:
            raise DispatchError(f"claude program {given!r} does not exist; {INSTALL_HINT}")
    else:
        found = shutil.which("claude")
        if found is None:
            raise DispatchError(f"claude (Claude Code) is not on PATH; {INSTALL_HINT}")
    if Path(found).is_dir():
        raise DispatchError(f"{found} is a folder, not the claude program; point --claude "
                            "(or CLAUDE_CLI_PATH) at the claude executable")
    if not os.access(found, os.X_OK):
        raise DispatchError(f"claude program {found} is not executable; fix it with "
                            f"'chmod +x {found}' or point --claude at the right file")
    return [str(Path(found).absolute())]


# The CLI version the contract tests run (./run, CLAUDE_CODE_VERSION): flags and result
# shapes change between versions.
TESTED_VERSION = "2.1.197"
VERSION_TIMEOUT = 20.0


def expect_runs(program: list[str]) -> list[str]:
    """Check, spending no tokens, that the program runs: `claude --version` (offline, about
    0.1 s). Raises when it does not; returns warnings (a version the tests do not cover)."""
    import subprocess

    env = {**os.environ, "DISABLE_AUTOUPDATER": "1",
           "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1"}
    try:
        proc = subprocess.run([*program, "--version"], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, env=env, timeout=VERSION_TIMEOUT,
                              check=False)
    except subprocess.TimeoutExpired:
        raise DispatchError(f"{program[-1]} --version did not answer in {VERSION_TIMEOUT:.0f}s; "
                            f"is it the claude program? {INSTALL_HINT}") from None
    except OSError as exc:
        raise DispatchError(f"{program[-1]} cannot run ({exc.strerror or exc}); "
                            f"{INSTALL_HINT}") from None
    version = proc.stdout.strip().split(" ", 1)[0] if proc.stdout.strip() else ""
    if proc.returncode != 0 or not version[:1].isdigit():
        said = (proc.stderr.strip() or proc.stdout.strip() or "nothing").splitlines()[-1][:200]
        raise DispatchError(f"{program[-1]} --version failed (exit {proc.returncode}: {said}); "
                            f"is it the claude program? {INSTALL_HINT}")
    if version != TESTED_VERSION:
        return [f"claude {version} is not the version dispatch is tested with "
                f"({TESTED_VERSION}); if sessions fail in odd ways, install that one"]
    return []


def rehearsal_program() -> list[str]:
    """The built-in stand-in worker, invoked exactly like claude."""
    return [sys.executable, "-m", "dispatch.sessions.rehearsal"]


def effective(*layers: AgentOptions) -> AgentOptions:
    """Later layers win: defaults < spec frontmatter < per-workstream < command line."""
    result = DEFAULTS
    for layer in layers:
        result = result.overlay(layer)
    return result


@dataclass(frozen=True)
class SessionCall:
    program: list[str]
    session_id: str
    resume: bool  # continue the session (`--resume`) instead of starting it
    options: AgentOptions
    system_prompt: str
    prompt: str
    feature_dir: Path


def argv(call: SessionCall) -> list[str]:
    """The full command line of one session run. Never a shell string."""
    opts = call.options
    args = [*call.program, "-p", "--output-format", "json"]
    if opts.model:
        args += ["--model", opts.model]
    args += ["--resume" if call.resume else "--session-id", call.session_id]
    args += ["--append-system-prompt", call.system_prompt]
    if opts.permission_mode:
        args += ["--permission-mode", opts.permission_mode]
    # --add-dir and --allowedTools take several values: the `--` below keeps them from
    # swallowing the prompt, and `=` keeps the tool list in one argument.
    args += ["--add-dir", str(call.feature_dir)]
    if opts.max_turns is not None:
        args += ["--max-turns", str(opts.max_turns)]
    if opts.max_budget_usd is not None:
        args += ["--max-budget-usd", f"{opts.max_budget_usd:g}"]
    if opts.allowed_tools:
        args.append("--allowedTools=" + ",".join(opts.allowed_tools))
    return [*args, "--", call.prompt]
