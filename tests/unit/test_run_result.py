"""Every result shape of `claude -p --output-format json`, as literal strings."""

from __future__ import annotations

import json

import pytest

from dispatch.sessions.run_result import interpret


def result(**fields: object) -> bytes:
    return json.dumps({"type": "result", "session_id": "s", "num_turns": 4,
                       "duration_ms": 900, "total_cost_usd": 0.12, **fields}).encode()


def test_success() -> None:
    outcome = interpret(0, result(subtype="success", is_error=False, result="Done."), "")
    assert (outcome.kind, outcome.message, outcome.cost_usd, outcome.num_turns,
            outcome.duration_ms, outcome.session_id) == ("success", "Done.", 0.12, 4, 900, "s")


@pytest.mark.parametrize(("fields", "transient", "message"), [
    ({"subtype": "success", "is_error": True, "api_error_status": None,
      "result": "Not logged in · Please run /login"}, False, "Not logged in · Please run /login"),
    ({"subtype": "success", "is_error": True, "api_error_status": 401,
      "result": "Invalid API key · Fix external API key"}, False,
     "Invalid API key · Fix external API key"),
    ({"subtype": "success", "is_error": True, "api_error_status": 500,
      "result": "API Error: 500 Internal server error."}, True,
     "API Error: 500 Internal server error."),
    ({"subtype": "success", "is_error": True, "api_error_status": 529,
      "result": "API Error: 529 Overloaded."}, True, "API Error: 529 Overloaded."),
    ({"subtype": "success", "is_error": True, "api_error_status": 429,
      "result": "API Error: Request rejected (429) · Rate limited"}, True,
     "API Error: Request rejected (429) · Rate limited"),
    ({"subtype": "success", "is_error": True, "api_error_status": None,
      "result": "API Error: Unable to connect to API (ConnectionRefused)"}, True,
     "API Error: Unable to connect to API (ConnectionRefused)"),
    ({"subtype": "error_max_turns", "is_error": True,
      "errors": ["Reached maximum number of turns (3)"]}, False,
     "reached the maximum number of turns (Reached maximum number of turns (3))"),
    ({"subtype": "error_max_budget_usd", "is_error": True,
      "errors": ["Reached maximum budget ($0.50)"]}, False,
     "reached its --max-budget-usd (Reached maximum budget ($0.50))"),
    ({"subtype": "error_during_execution", "is_error": True, "errors": ["tool crashed"]},
     False, "tool crashed"),
    ({"subtype": "error_during_execution", "is_error": True, "errors": ["ECONNRESET"]},
     True, "ECONNRESET"),
])
def test_errors(fields: dict[str, object], transient: bool, message: str) -> None:
    outcome = interpret(1, result(**fields), "")
    assert (outcome.kind, outcome.transient, outcome.message) == ("error", transient, message)


def test_empty_stdout_is_a_crash_with_the_stderr_tail() -> None:
    outcome = interpret(1, b"", "warming up\nError: ENOENT: no such file\n")
    assert (outcome.kind, outcome.transient, outcome.message) == (
        "crash", False, "warming up | Error: ENOENT: no such file")


def test_garbage_and_huge_output() -> None:
    assert interpret(2, b"Segfault \x00\x01", "").message == (
        "exit code 2 and no result on stdout")
    huge = interpret(1, b"x" * (21 * 1024 * 1024), "")
    assert huge.kind == "crash" and huge.message.startswith("printed more than 20 MB")


def test_killed_process() -> None:
    assert interpret(-9, b"", "").message == "the process was killed (signal 9)"
    assert interpret(None, b"", "").kind == "killed"


def test_verbose_array_and_noise_before_the_result() -> None:
    array = json.dumps([{"type": "system"}, json.loads(result(subtype="success",
                                                              is_error=False, result="ok"))])
    assert interpret(0, array.encode(), "").message == "ok"
    noisy = b"npm WARN something\n" + result(subtype="success", is_error=False, result="ok")
    assert interpret(0, noisy, "").kind == "success"


@pytest.mark.parametrize("cost", [10**400, -1, float("nan"), True, "3", 1e400])
def test_a_live_stream_books_no_cost_it_cannot_trust(cost: object) -> None:
    from pathlib import Path

    from dispatch.sessions.stream import Follower

    follower = Follower(Path("unused"))
    follower.apply({"type": "result", "total_cost_usd": 0.25}, 1.0)
    follower.apply({"type": "result", "total_cost_usd": cost}, 2.0)
    assert follower.activity.cost_usd == 0.0 and follower.activity.now == "finished"
