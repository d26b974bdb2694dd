"""A worker's event stream as lines a person (or Claude Code) can read: what it said, each
tool call (`→ Edit app/cli/main.py`), a short answer of each tool (`← …`), and its result."""

from __future__ import annotations

from typing import Any

from dispatch.core.text import visible, visible_line
from dispatch.sessions.stream import summarise_tool

ANSWER = 160  # characters of a tool's answer shown (the raw stream has all of it)


def lines(event: dict[str, Any], cwd: str | None = None) -> list[str]:
    kind = event.get("type")
    if kind == "system" and event.get("subtype") == "init":
        return [f"── session {event.get('session_id') or '?'} · model "
                f"{event.get('model') or '?'} · in {event.get('cwd') or '?'}"]
    if kind == "assistant":
        return _assistant(event.get("message"), cwd)
    if kind == "user":
        return _user(event.get("message"))
    if kind == "result":
        return [_result(event)]
    if kind == "dispatch" and event.get("subtype") == "prompt":
        text = visible(str(event.get("prompt", ""))).strip().splitlines() or [""]
        return [f"── prompt: {text[0]}", *(f"   {line}" for line in text[1:])]
    return []


def _assistant(message: Any, cwd: str | None) -> list[str]:
    found: list[str] = []
    for block in _blocks(message):
        if block.get("type") == "text" and str(block.get("text", "")).strip():
            found += [f"  {line}" for line in visible(str(block["text"])).strip().splitlines()]
        elif block.get("type") == "tool_use":
            call = summarise_tool(str(block.get("name")), block.get("input"), cwd, limit=2000)
            found.append(f"→ {visible_line(call)}")
    return found


def _user(message: Any) -> list[str]:
    found = []
    for block in _blocks(message):
        if block.get("type") == "tool_result":
            text = _content_text(block.get("content"))
            head = visible_line(text.strip().splitlines()[0] if text.strip() else "(empty)")
            head = head if len(head) <= ANSWER else head[: ANSWER - 1] + "…"
            found.append(f"  ← {'error: ' if block.get('is_error') else ''}{head}")
    return found


def _result(event: dict[str, Any]) -> str:
    cost = event.get("total_cost_usd")
    money = f"${cost:.2f}" if isinstance(cost, int | float) and not isinstance(cost, bool) \
        else "$?"
    said = _content_text(event.get("result")) or "; ".join(map(str, event.get("errors") or []))
    status = "error" if event.get("is_error") else str(event.get("subtype") or "?")
    return (f"── result: {visible_line(status)} · {event.get('num_turns', '?')} turns · "
            f"{money} · {visible_line(said)}")


def _blocks(message: Any) -> list[dict[str, Any]]:
    content = message.get("content") if isinstance(message, dict) else None
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""
