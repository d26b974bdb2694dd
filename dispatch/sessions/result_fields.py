"""A worker's result object is untrusted input: every field is checked for its type,
finiteness and range before dispatch books it. A bad field never crashes the supervisor and
never reaches sessions.json: it is replaced by a neutral value and named in `problems`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

# Far beyond anything real, below anything that overflows: one run of one session.
MAX_COST_USD = 100_000.0
MAX_TURNS = 1_000_000
MAX_DURATION_MS = 10 * 365 * 24 * 3600 * 1000
MAX_TEXT = 20_000  # characters of result text kept (a checkpoint, not a transcript)


@dataclass
class Fields:
    cost_usd: float = 0.0
    num_turns: int = 0
    duration_ms: int = 0
    session_id: str | None = None
    subtype: str | None = None
    is_error: bool = False
    result: str = ""
    errors: list[str] = field(default_factory=list)
    api_error_status: int | None = None
    problems: list[str] = field(default_factory=list)


def read(data: dict[str, Any]) -> Fields:
    found = Fields()
    found.cost_usd = _number(found, data, "total_cost_usd", MAX_COST_USD)
    found.num_turns = int(_number(found, data, "num_turns", MAX_TURNS, whole=True))
    found.duration_ms = int(_number(found, data, "duration_ms", MAX_DURATION_MS, whole=True))
    found.session_id = _text_or_none(found, data, "session_id")
    found.subtype = _text_or_none(found, data, "subtype")
    found.is_error = _flag(found, data, "is_error")
    found.result = _text(data.get("result"))
    found.errors = _errors(found, data.get("errors"))
    status = data.get("api_error_status")
    found.api_error_status = status if isinstance(status, int) and not isinstance(
        status, bool) and 100 <= status <= 599 else None
    return found


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _number(found: Fields, data: dict[str, Any], key: str, limit: float,
            whole: bool = False) -> float:
    value = data.get(key)
    if value is None:
        return 0
    ok = _is_number(value) and math.isfinite(value) and 0 <= value <= limit and (
        not whole or float(value).is_integer())
    if not ok:
        found.problems.append(f"{key} {_show(value)} is not a number from 0 to {limit:g}: "
                              "counted as 0")
        return 0
    return float(value)


def _text_or_none(found: Fields, data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value[:200] if value else value
    found.problems.append(f"{key} {_show(value)} is not text: ignored")
    return None


def _flag(found: Fields, data: dict[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if isinstance(value, bool):
        return value
    found.problems.append(f"{key} {_show(value)} is not true or false: taken as an error")
    return True


def _text(value: object) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else _show(value, MAX_TEXT)
    return text[:MAX_TEXT]


def _errors(found: Fields, value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [_text(item)[:1000] for item in value[:20]]
    found.problems.append(f"errors {_show(value)} is not a list")
    return [_text(value)[:1000]]


def _show(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
