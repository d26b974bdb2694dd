"""What a finished `claude -p --output-format stream-json --verbose` run means.

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

from dispatch.core import files
from dispatch.sessions import result_fields
from dispatch.state.paths import FeaturePaths

Kind = Literal["success", "error", "crash", "killed"]
# A run's stream ends with its result, one JSON line: it is looked for in the stream's tail.
RESULT_TAIL = 4 * 1024 * 1024
# More than this on stdout and no result: say so (a stream of garbage).
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
    overloaded: bool = False  # the API pushed back (429, 529, "overloaded"): ease off


def interpret(returncode: int | None, stdout: bytes, stderr_tail: str,
              size: int | None = None) -> RunOutcome:
    """The meaning of one run from its exit code (None or negative: killed), stdout (or its
    tail, of a file of `size` bytes), stderr."""
    data = _result_object(stdout)
    if data is None:
        if returncode is None or returncode < 0 or returncode in _SIGNAL_EXITS:
            return RunOutcome("killed", message=f"the process was killed{_signal(returncode)}")
        why = stderr_tail.strip() or f"exit code {returncode} and no result on stdout"
        if (size or len(stdout)) > MAX_RESULT_BYTES:
            why = f"printed more than {MAX_RESULT_BYTES // 2**20} MB and no result; {why}"
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
        outcome.overloaded = fields.api_error_status in (429, 529) or re.search(
            r"overloaded|rate.?limit|\b(?:429|529)\b", text, re.I) is not None
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
    """The run's `result` object: the last line of a stream (`stream-json`), or the whole
    output (`json`, or `--verbose`'s array). Noise before it is tolerated."""
    text = stdout.decode("utf-8", errors="replace").strip()
    if not text:
        return None
    lines = text.rsplit("\n", 200)[::-1]  # newest first: the result is the last event
    for candidate in (text, *lines):
        data = _parsed(candidate)
        if isinstance(data, list):  # `json --verbose` prints every message; the result is last
            data = next((m for m in reversed(data) if isinstance(m, dict)
                         and m.get("type") == "result"), None)
        if isinstance(data, dict) and data.get("type") == "result":
            return data
    return None


def _parsed(text: str) -> Any:
    text = text.strip()
    if not text.startswith(("{", "[")):
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested past Python's stack
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
    stdout: Path  # the event stream (`<ws>.<run>.jsonl`), or a single result (older `.json`)
    stderr: Path


def run_files(paths: FeaturePaths, name: str, attempt: int) -> RunFiles:
    stream = paths.logs / f"{name}.{attempt}.jsonl"
    older = paths.logs / f"{name}.{attempt}.json"  # runs recorded before streams were kept
    return RunFiles(older if older.exists() and not stream.exists() else stream,
                    paths.logs / f"{name}.{attempt}.stderr")


def outcome_of(returncode: int | None, files: RunFiles) -> RunOutcome:
    """A stream can be long (every tool result is in it): the result is in its tail."""
    return interpret(returncode, _tail_bytes(files.stdout, RESULT_TAIL), _tail(files.stderr),
                     _size(files.stdout))


def _tail_bytes(path: Path, size: int) -> bytes:
    return files.tail(path, size)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _tail(path: Path, size: int = 4096) -> str:
    return files.tail(path, size).decode("utf-8", errors="replace")
