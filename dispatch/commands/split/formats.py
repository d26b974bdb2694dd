"""The input formats `dispatch split --items` reads, and how one is recognised.

JSON documents are told apart by their shape (SARIF's `runs`, ruff's `filename` and
`location`, eslint's `filePath` and `messages`...); text by which tool's finding lines it
holds most of; a list of paths (or `path: text` lines) is the fallback.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from dispatch.commands.split import json_formats, text_formats
from dispatch.commands.split.items import Item
from dispatch.core.errors import DispatchError

JSON_FORMATS: dict[str, Callable[[Any], list[Item]]] = {
    "sarif": json_formats.sarif, "ruff-json": json_formats.ruff,
    "pylint-json": json_formats.pylint, "eslint-json": json_formats.eslint,
    "flake8-json": json_formats.flake8}
TEXT_FORMATS: dict[str, Callable[[text_formats.Lines], list[Item]]] = {
    "ruff": text_formats.ruff, "flake8": text_formats.flake8, "pylint": text_formats.pylint,
    "mypy": text_formats.mypy, "eslint": text_formats.eslint}
NAMES = (*JSON_FORMATS, "jsonl", *TEXT_FORMATS, "list")
_RUFF_SUMMARY = re.compile(r"^Found \d+ errors?\.|^All checks passed!$")
_MYPY_SUMMARY = re.compile(r"^Success: no issues found in \d+ source files?$")


def parse(text: str, fmt: str | None, is_file: Callable[[str], bool]) -> tuple[str, list[Item]]:
    """The items of `text`, read as `fmt` (None: detected); and the format's name."""
    if fmt is not None and fmt not in NAMES:
        raise DispatchError(f"unknown input format {fmt!r}: use one of {', '.join(NAMES)}")
    if not text.strip():
        raise DispatchError("the work list is empty: pass a file with one item per line, or a "
                            "linter's output")
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    chosen = fmt or detect(text, lines)
    if chosen in JSON_FORMATS:
        return chosen, JSON_FORMATS[chosen](_json(text))
    if chosen == "jsonl":
        return chosen, json_formats.jsonlines(_json_objects(text, lines))
    if chosen == "list":
        return chosen, text_formats.plain(lines, is_file)
    return chosen, TEXT_FORMATS[chosen](lines)


def detect(text: str, lines: text_formats.Lines) -> str:
    stripped = text.lstrip()
    if stripped[:1] in "[{":
        try:
            return _json_kind(json.loads(text))
        except ValueError:
            if all(line.lstrip().startswith("{") for _, line in lines):
                return "jsonl"
    counts = {name: text_formats.count_matches(name, lines)
              for name in ("pylint", "mypy", "eslint", "flake8")}
    best = max(counts, key=lambda name: counts[name])
    if best == "flake8" and (text_formats.count_matches("ruff", lines) or
                             any(_RUFF_SUMMARY.match(line) for _, line in lines)):
        return "ruff"
    if counts[best] == 0:  # no finding of those tools: ruff's other form, a clean run, a list
        if text_formats.count_matches("ruff", lines) or _RUFF_SUMMARY.match(lines[0][1]):
            return "ruff"
        return "mypy" if _MYPY_SUMMARY.match(lines[0][1]) else "list"
    return best


def _json_kind(document: Any) -> str:
    kind = _dict_kind(document) if isinstance(document, dict) else _list_kind(document)
    if kind is not None:
        return kind
    if document == [] or document == {}:
        raise DispatchError("the tool's output holds no findings: nothing to split")
    raise DispatchError("this JSON is none of the formats dispatch split reads (SARIF, ruff, "
                        "pylint, eslint, flake8, JSON lines); pass --input-format to choose one")


def _dict_kind(document: dict[str, Any]) -> str | None:
    if "runs" in document and str(document.get("version", "")).startswith("2."):
        return "sarif"
    if isinstance(document.get("messages"), list):
        return "pylint-json"  # pylint's json2 reporter
    if document and all(isinstance(v, list) for v in document.values()):
        return "flake8-json"
    if "file" in document or "path" in document or "filename" in document:
        return "jsonl"  # a single JSON line
    return None


def _list_kind(document: Any) -> str | None:
    if not isinstance(document, list) or not document or not isinstance(document[0], dict):
        return None
    first = document[0]
    for keys, name in ((("filename", "location"), "ruff-json"),
                       (("filePath", "messages"), "eslint-json"),
                       (("message-id",), "pylint-json")):
        if all(key in first for key in keys):
            return name
    if any(key in first for key in ("file", "path", "filename")):
        return "jsonl"  # the same objects, as one list
    return None


def _json_objects(text: str, lines: text_formats.Lines) -> list[Any]:
    """JSON lines, or one JSON list of the same objects."""
    if text.lstrip().startswith("["):
        document = _json(text)
        if isinstance(document, list):
            return document
    return [_json(line, n) for n, line in lines]


def _json(text: str, line: int | None = None) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        where = f"line {line}" if line is not None else f"line {getattr(exc, 'lineno', '?')}"
        raise DispatchError(f"the work list is not valid JSON ({where}): pass --input-format "
                            "to read it as another format") from None
