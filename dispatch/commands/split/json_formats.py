"""JSON tool outputs -> items. Each parser takes the decoded document and knows its tool's
documented shape:

- ruff `--output-format json`: a list of {filename, location: {row}, code, message}
- pylint `--output-format=json`: a list of {path, line, message-id, type, message, symbol};
  `json2`: {"messages": [{path, line, messageId, type, message, symbol}], "statistics": ...}
- eslint `--format json`: a list of {filePath, messages: [{line, ruleId, severity (1 warning,
  2 error), message}]}
- flake8 `--format=json` (the flake8-json plugin): {path: [{line_number, code, text}]}
- SARIF 2.1.0: runs[].results[] with ruleId, level, message.text and
  locations[].physicalLocation.{artifactLocation.uri, region.startLine}
- JSON lines (mypy `-O json`, or any list): one object a line with file (or path,
  filename), line, rule (or code), severity (or level), message
"""

from __future__ import annotations

from typing import Any

from dispatch.commands.split.items import Item
from dispatch.core.errors import DispatchError

_ESLINT_SEVERITY = {1: "warning", 2: "error"}


def ruff(document: Any) -> list[Item]:
    """Every ruff finding is an error: ruff has no other level."""
    return [Item(_text(f, "filename"), _line(f.get("location", {}).get("row")),
                 f.get("code") or None, "error", str(f.get("message", "")), number)
            for number, f in enumerate(_objects(document), start=1)]


def pylint(document: Any) -> list[Item]:
    """Both of pylint's JSON reporters (`json` and `json2`)."""
    messages = document.get("messages", []) if isinstance(document, dict) else document
    return [Item(_text(m, "path"), _line(m.get("line")),
                 m.get("message-id") or m.get("messageId") or None, m.get("type") or None,
                 _with_symbol(m), number)
            for number, m in enumerate(_objects(messages), start=1)]


def eslint(document: Any) -> list[Item]:
    found: list[Item] = []
    for result in _objects(document):
        path = _text(result, "filePath")
        for m in _objects(result.get("messages", [])):
            level = m.get("severity")
            severity = "fatal" if m.get("fatal") else \
                _ESLINT_SEVERITY.get(level) if isinstance(level, int) else None
            found.append(Item(path, _line(m.get("line")), m.get("ruleId") or None, severity,
                              str(m.get("message", "")), len(found) + 1))
    return found


def flake8(document: Any) -> list[Item]:
    found: list[Item] = []
    for path, findings in sorted(document.items()):
        for f in _objects(findings):
            code = str(f.get("code", ""))
            found.append(Item(str(f.get("filename") or path), _line(f.get("line_number")),
                              code or None, "warning" if code.startswith("W") else "error",
                              str(f.get("text", "")), len(found) + 1))
    return found


def sarif(document: Any) -> list[Item]:
    """Results without a file location (about the whole project) cannot be owned: refused."""
    found: list[Item] = []
    for run in _objects(document.get("runs", [])):
        for result in _objects(run.get("results", [])):
            location = _sarif_location(result)
            if location is None:
                raise DispatchError(f"SARIF result {len(found) + 1} ({result.get('ruleId')}) "
                                    "has no file location: a split needs each finding's file; "
                                    "drop such results from the input")
            uri, line = location
            message = result.get("message", {})
            text = message.get("text", "") if isinstance(message, dict) else str(message)
            found.append(Item(uri, line, result.get("ruleId") or None,
                              result.get("level") or "warning", str(text), len(found) + 1))
    return found


def jsonlines(objects: list[Any]) -> list[Item]:
    found: list[Item] = []
    for number, o in enumerate(objects, start=1):
        if not isinstance(o, dict):
            raise DispatchError(f"line {number} of the JSON lines is not an object")
        path = o.get("file") or o.get("path") or o.get("filename")
        if not isinstance(path, str) or not path:
            raise DispatchError(f"line {number} of the JSON lines has no \"file\" (or \"path\", "
                                "\"filename\"): each item must name its file")
        found.append(Item(path, _line(o.get("line")), _opt(o.get("rule") or o.get("code")),
                          _opt(o.get("severity") or o.get("level")),
                          str(o.get("message", "")), number))
    return found


def _sarif_location(result: dict[str, Any]) -> tuple[str, int | None] | None:
    for location in _objects(result.get("locations", [])):
        physical = location.get("physicalLocation", {})
        uri = physical.get("artifactLocation", {}).get("uri")
        if isinstance(uri, str) and uri:
            return uri, _line(physical.get("region", {}).get("startLine"))
    return None


def _objects(value: Any) -> list[dict[str, Any]]:
    """The dicts of a list; anything else in a tool's list means it is not that tool's."""
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise DispatchError("the JSON input does not have the shape of the format it was read "
                            "as; pass --input-format to choose another")
    return value


def _text(entry: dict[str, Any], key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value:
        raise DispatchError(f"a finding of the JSON input has no {key!r}; pass --input-format "
                            "if it is another tool's output")
    return value


def _line(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 \
        else None


def _opt(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _with_symbol(message: dict[str, Any]) -> str:
    text = str(message.get("message", ""))
    symbol = message.get("symbol")
    return f"{text} ({symbol})" if symbol else text
