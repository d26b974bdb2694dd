"""Loopback stand-in of the Anthropic Messages API, to drive the real `claude` CLI offline.

Point the CLI at it with ``ANTHROPIC_BASE_URL=<base_url>`` and any ``ANTHROPIC_API_KEY``.
Replies come from a *script*: a list of steps, consumed one per *main-conversation* request.

    with StandinAPI([write("a.txt", "hi"), Text("wrote it")]) as api:
        run_claude(env={"ANTHROPIC_BASE_URL": api.base_url, ...})
        assert api.main_requests()[1]["messages"][-1]  # carries the tool_result

What the CLI (2.1.197) sends, as observed by logging it:

- ``HEAD /`` once at start (a connection warm-up): answered 200, empty.
- ``POST /v1/messages?beta=true`` for every model call, with headers ``anthropic-version:
  2023-06-01``, ``anthropic-beta: claude-code-20250219,...``, ``x-api-key``, ``x-app: cli``
  and ``X-Claude-Code-Session-Id``. Turns of the agent loop stream (``"stream": true``),
  offer the tools and think; side requests (e.g. the ``--permission-mode auto`` safety
  classifier) are not streamed, offer no tools and do not think. See `request_kind`.
  Side requests get `side_text` and leave the script alone.
- Anything else (``count_tokens``, unknown paths) gets a harmless JSON 200 at once.

Only the standard library is used, so the tests need nothing beyond pytest.
"""

from __future__ import annotations

import itertools
import json
import sys
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

JSON = dict[str, Any]

# Token counts reported for every reply. Non-zero so the CLI computes a cost > 0
# (it prices them with its own table for the requested model).
INPUT_TOKENS = 100
OUTPUT_TOKENS = 20

# Final reply once the script is used up, and the reply to side requests.
DONE_TEXT = "done"
SIDE_TEXT = "ok"


# --------------------------------------------------------------------------- script steps


@dataclass(frozen=True)
class Text:
    """Reply with one text block; the turn ends (``stop_reason: end_turn``)."""

    text: str


@dataclass(frozen=True)
class ToolUse:
    """One ``tool_use`` block: the CLI runs tool `name` with `input` and sends the result."""

    name: str
    input: JSON


@dataclass(frozen=True)
class ToolCalls:
    """Reply with one or more tool_use blocks (``stop_reason: tool_use``)."""

    calls: tuple[ToolUse, ...]


@dataclass(frozen=True)
class HttpError:
    """Reply with an HTTP error status and the API's error body."""

    status: int
    error_type: str
    message: str


Step = Text | ToolCalls | HttpError

_ERROR_TYPES = {
    400: ("invalid_request_error", "Invalid request"),
    401: ("authentication_error", "invalid x-api-key"),
    429: ("rate_limit_error", "Rate limited"),
    500: ("api_error", "Internal server error"),
    529: ("overloaded_error", "Overloaded"),
}


def tool(name: str, **tool_input: Any) -> ToolCalls:
    """A step with a single tool call, e.g. ``tool("Bash", command="ls")``."""
    return ToolCalls((ToolUse(name, tool_input),))


def write(file_path: str, content: str) -> ToolCalls:
    """A step that asks the CLI to write `content` to `file_path` (Write tool)."""
    return tool("Write", file_path=file_path, content=content)


def bash(command: str) -> ToolCalls:
    """A step that asks the CLI to run a shell command (Bash tool)."""
    return tool("Bash", command=command, description="scripted command")


def http_error(status: int) -> HttpError:
    """A step answering with `status` and the matching Anthropic error body."""
    error_type, message = _ERROR_TYPES.get(status, ("api_error", "Error"))
    return HttpError(status, error_type, message)


# --------------------------------------------------------------------------- recording


@dataclass(frozen=True)
class Recorded:
    """One request as received (header names lower-cased).

    `kind` is "main", "subagent", "side" (see `request_kind`) or "other" (not /v1/messages).
    """

    method: str
    path: str
    headers: dict[str, str]
    body: JSON | None
    kind: str


def request_kind(headers: Mapping[str, str], body: JSON) -> str:
    """Classify (headers lower-cased) a /v1/messages request: "main", "subagent" or "side".

    Turns of the agent loop offer tools and think (``thinking`` adaptive or enabled).
    Side requests (auto-mode classifier, titles, summaries, quota checks) send
    ``tools: []`` or none and ``thinking: disabled`` or none. Subagents (Agent tool)
    look like main turns but carry an ``x-claude-code-agent-id`` header.
    """
    thinking = body.get("thinking") or {}
    if not body.get("tools") and thinking.get("type") not in ("adaptive", "enabled"):
        return "side"
    return "subagent" if headers.get("x-claude-code-agent-id") else "main"


# --------------------------------------------------------------------------- replies


# Ids are unique across stand-ins (a run token, and one counter for every instance): a
# session resumed against a new stand-in must not get a tool_use id it already holds (the
# CLI takes a repeated id for an interrupted tool call).
_RUN = uuid.uuid4().hex[:8]
_SEQ = itertools.count(1)


def _message(model: str, seq: int, step: Text | ToolCalls) -> JSON:
    """The complete (non-streamed) Messages API reply for a step."""
    if isinstance(step, Text):
        content: list[JSON] = [{"type": "text", "text": step.text}]
        stop_reason = "end_turn"
    else:
        content = [
            {"type": "tool_use", "id": f"toolu_{_RUN}{seq:04d}_{i}", "name": c.name,
             "input": c.input}
            for i, c in enumerate(step.calls)
        ]
        stop_reason = "tool_use"
    return {
        "id": f"msg_standin_{_RUN}{seq:04d}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": OUTPUT_TOKENS},
    }


def _block_events(index: int, block: JSON) -> Iterator[JSON]:
    """content_block_start/delta/stop for one block; tool input goes in two JSON pieces."""
    if block["type"] == "text":
        yield {
            "type": "content_block_start",
            "index": index,
            "content_block": {"type": "text", "text": ""},
        }
        deltas = [{"type": "text_delta", "text": block["text"]}]
    else:
        yield {
            "type": "content_block_start",
            "index": index,
            "content_block": {**block, "input": {}},
        }
        raw = json.dumps(block["input"])
        half = len(raw) // 2  # split to exercise the CLI's partial-JSON accumulation
        deltas = [
            {"type": "input_json_delta", "partial_json": part} for part in (raw[:half], raw[half:])
        ]
    for delta in deltas:
        yield {"type": "content_block_delta", "index": index, "delta": delta}
    yield {"type": "content_block_stop", "index": index}


def sse_events(message: JSON) -> Iterator[JSON]:
    """The streaming form of `message`, as the Messages API sends it."""
    start = {
        **message,
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": 1},
    }
    yield {"type": "message_start", "message": start}
    for index, block in enumerate(message["content"]):
        yield from _block_events(index, block)
    yield {
        "type": "message_delta",
        "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
        "usage": {"output_tokens": OUTPUT_TOKENS},
    }
    yield {"type": "message_stop"}


def _error_body(err: HttpError) -> JSON:
    return {"type": "error", "error": {"type": err.error_type, "message": err.message}}


# --------------------------------------------------------------------------- HTTP plumbing


class _Server(ThreadingHTTPServer):
    """The HTTP server, holding the stand-in it answers for."""

    daemon_threads = True

    def __init__(self, standin: StandinAPI) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.standin = standin

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when the CLI hangs up mid-reply (e.g. a test killed it)."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Routes every method and path; nothing is left unanswered."""

    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body: JSON | None = json.loads(raw) if raw else None
        except ValueError:
            body = None
        assert isinstance(self.server, _Server)
        self.server.standin.answer(self, body if isinstance(body, dict) else None)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle

    def send_json(self, status: int, payload: JSON) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if status >= 400:
            self.send_header("request-id", "req_standin")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def send_sse(self, events: Iterator[JSON]) -> None:
        """Send server-sent events, then close (the body ends with the connection)."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        for event in events:
            self.wfile.write(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode())
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default per-request stderr log (requests are recorded instead)."""


# --------------------------------------------------------------------------- the stand-in


@dataclass
class StandinAPI:
    """Context manager: a scripted Messages API on 127.0.0.1 in a background thread."""

    script: Sequence[Step]
    side_text: str = SIDE_TEXT  # reply to every side request
    requests: list[Recorded] = field(default_factory=list, init=False)
    _next: int = field(default=0, init=False)  # index of the next script step
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _server: _Server | None = field(default=None, init=False)

    @property
    def base_url(self) -> str:
        assert self._server is not None, "use StandinAPI as a context manager"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> StandinAPI:
        self._server = _Server(self)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def main_requests(self) -> list[JSON]:
        """Bodies of the main-conversation /v1/messages requests, in order."""
        return self.bodies("main")

    def bodies(self, kind: str) -> list[JSON]:
        """Bodies of the recorded requests of one kind, in order."""
        return [r.body for r in self.requests if r.kind == kind and r.body is not None]

    @property
    def remaining(self) -> int:
        """Script steps not yet consumed."""
        return len(self.script) - self._next

    def answer(self, handler: _Handler, body: JSON | None) -> None:
        """Record the request and send the reply for it."""
        path = handler.path.split("?", 1)[0]
        headers = {name.lower(): value for name, value in handler.headers.items()}
        kind = "other"
        if handler.command == "POST" and path == "/v1/messages" and body is not None:
            kind = request_kind(headers, body)
        with self._lock:
            self.requests.append(Recorded(handler.command, handler.path, headers, body, kind))
            seq = next(_SEQ)
            step = self._take_step() if kind in ("main", "subagent") else Text(self.side_text)
        if body is None or kind == "other":
            handler.send_json(200, _other_reply(path))
        elif isinstance(step, HttpError):
            handler.send_json(step.status, _error_body(step))
        else:
            self._reply(handler, body, _message(str(body.get("model", "")), seq, step))

    def _take_step(self) -> Step:
        """The next script step (caller holds the lock); "done" once it is used up."""
        if self._next >= len(self.script):
            return Text(DONE_TEXT)
        self._next += 1
        return self.script[self._next - 1]

    @staticmethod
    def _reply(handler: _Handler, body: JSON, message: JSON) -> None:
        if body.get("stream"):
            handler.send_sse(sse_events(message))
        else:
            handler.send_json(200, message)


def _other_reply(path: str) -> JSON:
    """Something harmless for endpoints other than /v1/messages."""
    if path.endswith("/count_tokens"):
        return {"input_tokens": INPUT_TOKENS}
    return {}
