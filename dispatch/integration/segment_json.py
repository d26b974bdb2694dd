"""One data segment's bytes read as strict JSON, or the reason they cannot be.

A segment is a worker's output: untrusted. Python's `json` is lenient where a deployment
reading the combined file would not be, so these are refused with a reason: bytes that are
not UTF-8, `NaN`/`Infinity` and numbers that overflow to infinity (not JSON; written back
they would make the output invalid), an object naming a key twice (one value would be
silently dropped), a lone surrogate (`"\\ud800"`: no UTF-8 encoding can hold it), nesting
deeper than MAX_DEPTH, and a file over MAX_BYTES (never read into memory at all).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 128  # serde_json's default limit: deeper is an attack or an accident, not data
_MIB = 1024 * 1024
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class InvalidSegment(ValueError):
    """Why a segment cannot be collected (a reason to report, not a bug)."""


def too_big(size: int) -> str | None:
    if size <= MAX_BYTES:
        return None
    return (f"{size / _MIB:.1f} MiB, over the {MAX_BYTES // _MIB} MiB a segment may hold "
            "(split it into smaller files)")


def parse(data: bytes) -> Any:
    """The JSON value of a segment; raises InvalidSegment saying why it is not one."""
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise InvalidSegment(f"not UTF-8 text (byte {exc.start} is invalid)") from None
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant,
                           parse_float=_finite)
    except json.JSONDecodeError as exc:
        raise InvalidSegment(f"not valid JSON: {exc.msg} (line {exc.lineno}, column "
                             f"{exc.colno})") from None
    except RecursionError:
        raise InvalidSegment(f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # from the hooks, or an integer past Python's digit limit
        # (whose message ends in advice for programmers: "; use sys.set_int_max_...")
        raise InvalidSegment(f"not valid JSON: {str(exc).partition(';')[0]}") from None
    _check_depth_and_strings(value, deep_strings=_SURROGATE_ESCAPE.search(text) is not None)
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):  # rare: only then look for which key it was
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ValueError(f"an object names the key {json.dumps(key)[:80]} twice")
            seen.add(key)
    return found


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"the number {text[:40]} is too large for a 64-bit float")
    return number


def _check_depth_and_strings(value: Any, *, deep_strings: bool) -> None:
    """Depth (without recursion: the value may be as deep as the parser allowed), and lone
    surrogates in strings, looked for only when the text has a surrogate escape at all."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                raise InvalidSegment(f"nested deeper than {MAX_DEPTH} levels")
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
            if deep_strings and isinstance(item, dict):
                stack.extend((key, depth) for key in item)
        elif deep_strings and isinstance(item, str) and _SURROGATE.search(item):
            raise InvalidSegment("a lone surrogate (a \\ud800-\\udfff escape without its pair): "
                                 "not text any UTF-8 file can hold")
