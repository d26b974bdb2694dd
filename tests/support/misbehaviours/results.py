"""Misbehaviours in what a run prints and how it ends: results with NaN, 1e999, negative,
400-digit or wrongly typed numbers, another session's id, lone surrogates, deep nesting,
terminal escapes, noise after the result, no output, a non-zero exit. Each does its work
first: only its result is wrong.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

from tests.support.misbehaving_worker import Reply, Worker

ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x1b]52;c;cm0gLXJmIH4=\x07"


def result(**fields: object) -> str:
    """A success result with `fields` changed (NaN and infinities as Python writes them)."""
    body = {"type": "result", "subtype": "success", "is_error": False, "num_turns": 3,
            "duration_ms": 1000, "total_cost_usd": 0.01, "result": "done",
            "session_id": "$SESSION", **fields}
    return json.dumps(body, allow_nan=True) + "\n"


def _overflowing() -> str:
    """1e999 as the issue saw it: a literal that only parses to infinity."""
    text = result(num_turns=1, total_cost_usd=2, duration_ms=3)
    for key, value in (("num_turns", 1), ("total_cost_usd", 2), ("duration_ms", 3)):
        text = text.replace(f'"{key}": {value}', f'"{key}": {"-" if value == 3 else ""}1e999')
    return text


PRINTS: dict[str, Callable[[], str]] = {  # made when a run needs one: some are big
    "result_nan": lambda: result(num_turns=float("nan"), total_cost_usd=float("nan"),
                                 duration_ms=float("nan")),
    "result_inf": _overflowing,
    "result_negative": lambda: result(total_cost_usd=-1000.0, num_turns=-5),
    "result_wrong_types": lambda: result(num_turns="3", total_cost_usd="0.5", is_error="no",
                                         errors=5, session_id=42, result={"text": "done"},
                                         duration_ms=[1]),
    "result_other_session": lambda: result(session_id=str(uuid.uuid4())),
    "result_noise_after": lambda: result() + "bye\n",
    "result_huge_text": lambda: result(result="x" * 5_000_000),
    "result_huge_int": lambda: result(num_turns=10**400, duration_ms=10**400,
                                      total_cost_usd=10**400),
    "result_lone_surrogate": lambda: result(result="done \ud800 \x00", errors=["\udfff"]),
    "result_deep_nesting": lambda: "[" * 100_000 + "]" * 100_000 + "\n",
    "exit_no_output": lambda: "",
}


def _printing(make: Callable[[], str], code: int = 0) -> Callable[[Worker], Reply]:
    def behave(w: Worker) -> Reply:
        w.work()
        return Reply(stdout=make(), exit=code)

    return behave


def result_escapes(w: Worker) -> Reply:
    """Terminal escapes in its result, a file name it commits and its RESULTS.md."""
    (w.home / "work").mkdir(exist_ok=True)
    (w.home / "work" / f"evil{ESCAPES}.txt").write_text("escapes in my name\n")
    w.work()
    Path(".workstream/RESULTS.md").write_text(f"# {w.ws}{ESCAPES}\n")
    return Reply(stdout=result(result=f"done{ESCAPES}"))


BEHAVIOURS: dict[str, Callable[[Worker], Reply | None]] = {
    **{name: _printing(make) for name, make in PRINTS.items()},
    "exit_nonzero": _printing(lambda: "Segmentation fault\n\x00\x01", code=3),
    "result_escapes": result_escapes,
}
