"""What a finished `claude -p --output-format json` run means (pure functions).

Shapes handled (those of the real CLI, pinned in the contract tests): a success object;
`is_error: true` with the message in `result` (auth and API errors, `api_error_status`
holding the HTTP status); error subtypes with an `errors` list and no `result`; empty or
non-JSON stdout (a crash); a killed process.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from dispatch.sessions import result_fields
from dispatch.state.paths import FeaturePaths

Kind = Literal["success", "error", "crash", "killed"]
# A real result is one JSON line of a few KB; more than this on stdout is not a result.
MAX_RESULT_BYTES = 20 * 1024 * 1024
# A program that handles SIGHUP/SIGINT/SIGKILL/SIGTERM itself often exits 128 + signal (the
# real claude exits 143 on SIGTERM, printing nothing): that is a killed run, not a crash.
_SIGNAL_EXITS = {129, 130, 137, 143}
_TRANSIENT = (
    r"overloaded|rate.?limit|(?:error|status|http)\W{0,3}(?:429|5\d\d)\b|\((?:429|5\d\d)\)|"
    r"unable to connect|connection ?(?:refused|reset)|"
    r"econnre(?:fused|set)|etimedout|timed? ?out|socket hang up|network error|"
    r"temporarily unavailable|service unavailable|internal server error")
_PERMANENT_SUBTYPES = {
    "error_max_turns": "reached the maximum number of turns",
    "error_max_budget_usd": "reached its --max-budget-usd",
    "error_max_structured_output_retries": "gave up on structured output",
}


def _transient_text(text: str) -> bool:
    # Compiled on first use, not at import: `dispatch status` imports this module.
    return re.search(_TRANSIENT, text, re.IGNORECASE) is not None


@dataclass
class RunOutcome:
    kind: Kind
    transient: bool = False
    message: str = ""  # the result text, or why it failed
    cost_usd: float = 0.0
    num_turns: int = 0
    duration_ms: int = 0
    session_id: str | None = None
    subtype: str | None = None
    errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # fields of the result that were invalid
    # Why every session would fail the same way (not logged in, a bad key), with the fix:
    # nothing more should be launched until a person has fixed it.
    feature_wide: str | None = None


def interpret(returncode: int | None, stdout: bytes, stderr_tail: str) -> RunOutcome:
    """The meaning of one run from its exit code (None or negative: killed), stdout, stderr."""
    data = _result_object(stdout)
    if data is None:
        if returncode is None or returncode < 0 or returncode in _SIGNAL_EXITS:
            return RunOutcome("killed", message=f"the process was killed{_signal(returncode)}")
        why = stderr_tail.strip() or f"exit code {returncode} and no result on stdout"
        if len(stdout) > MAX_RESULT_BYTES:
            why = f"printed more than {MAX_RESULT_BYTES // 2**20} MB that is not a result; {why}"
        return RunOutcome("crash", transient=_transient_text(why),
                          message=_last_lines(why))
    return _from_result(data)


def _from_result(data: dict[str, Any]) -> RunOutcome:
    fields = result_fields.read(data)
    outcome = RunOutcome("error", cost_usd=fields.cost_usd, num_turns=fields.num_turns,
                         duration_ms=fields.duration_ms, session_id=fields.session_id,
                         subtype=fields.subtype, errors=fields.errors,
                         problems=fields.problems)
    text = fields.result
    if outcome.subtype == "success" and not fields.is_error:
        outcome.kind, outcome.message = "success", text
    elif outcome.subtype in _PERMANENT_SUBTYPES:
        outcome.message = f"{_PERMANENT_SUBTYPES[outcome.subtype]} ({'; '.join(outcome.errors)})"
    elif outcome.subtype == "error_during_execution":
        outcome.message = "; ".join(outcome.errors) or "error during execution"
        outcome.transient = _transient_text(outcome.message)
    else:
        outcome.message = text or "; ".join(outcome.errors) or "the session reported an error"
        outcome.transient = _transient_api_error(fields.api_error_status, text)
        outcome.feature_wide = _login_problem(fields.api_error_status, text)
    return outcome


LOGIN_FIX = ("log in (run `claude` and /login) or set ANTHROPIC_API_KEY, then "
             "'dispatch resume --all'")


def _login_problem(status: int | None, text: str) -> str | None:
    if status in (401, 403) or re.search(
            r"not logged in|invalid api key|authentication[_ ]error|oauth token|/login",
            text, re.I):
        return LOGIN_FIX
    return None


def _transient_api_error(status: object, text: str) -> bool:
    if isinstance(status, int):
        return status == 429 or status >= 500
    if re.search(r"not logged in|invalid api key|authentication|/login", text, re.I):
        return False
    return _transient_text(text)


def _result_object(stdout: bytes) -> dict[str, Any] | None:
    if not stdout.strip() or len(stdout) > MAX_RESULT_BYTES:
        return None
    text = stdout.decode("utf-8", errors="replace").strip()
    for candidate in (text, text.rsplit("\n", 1)[-1]):  # tolerate noise before the result
        try:
            data = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(data, list):  # `--verbose` prints every message; the result is last
            data = next((m for m in reversed(data) if isinstance(m, dict)
                         and m.get("type") == "result"), None)
        if isinstance(data, dict) and data.get("type") == "result":
            return data
    return None


def _signal(returncode: int | None) -> str:
    if returncode is None:
        return ""
    number = -returncode if returncode < 0 else returncode - 128
    return f" (signal {number})" if number > 0 else ""


def _last_lines(text: str, count: int = 5) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-count:])[:1000]


@dataclass(frozen=True)
class RunFiles:
    stdout: Path
    stderr: Path


def run_files(paths: FeaturePaths, name: str, attempt: int) -> RunFiles:
    return RunFiles(paths.logs / f"{name}.{attempt}.json", paths.logs / f"{name}.{attempt}.stderr")


def outcome_of(returncode: int | None, files: RunFiles) -> RunOutcome:
    return interpret(returncode, _head(files.stdout, MAX_RESULT_BYTES + 1), _tail(files.stderr))


def _head(path: Path, limit: int) -> bytes:
    try:
        with path.open("rb") as handle:
            return handle.read(limit)
    except OSError:
        return b""


def _tail(path: Path, size: int = 4096) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(max(0, path.stat().st_size - size))
            return handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
