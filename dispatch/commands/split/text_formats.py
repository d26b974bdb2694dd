"""Line-oriented tool outputs -> items. Each parser keeps the lines that are findings and
passes over the rest (headers, code frames, summaries such as "Found 3 errors.").

The grammars are the tools' documented defaults:

- flake8: `path:line:col: CODE message`
- ruff `--output-format concise`: the same, with `[*]` before fixable messages; ruff's
  default (full) output: `CODE [*] message` then ` --> path:line:col` and a code frame
- pylint: `path:line:col: C0114: message (symbol)` under `************* Module name` lines
- mypy: `path:line[:col]: error: message  [code]` (notes are not findings: skipped)
- eslint's default (stylish): a path line, then `  line:col  severity  message  rule-id`
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from dispatch.commands.split.items import Item
from dispatch.core.errors import DispatchError
from dispatch.core.text import shown

_FLAKE8 = re.compile(r"^(?P<file>[^\s:][^:]*):(?P<line>\d+):(?:\d+:)?\s+"
                     r"(?P<rule>[A-Z]{1,4}\d{1,5})\s+(?:\[\*\]\s+)?(?P<message>.*)$")
_RUFF_HEAD = re.compile(r"^(?P<rule>[A-Z]{1,4}\d{1,5})\s+(?:\[\*\]\s+)?(?P<message>.*)$")
_RUFF_ARROW = re.compile(r"^\s*-->\s+(?P<file>[^:]+):(?P<line>\d+):\d+\s*$")
_PYLINT = re.compile(r"^(?P<file>[^\s:][^:]*):(?P<line>\d+):\d+:\s+(?P<rule>[CRWEFI]\d{4}):\s+"
                     r"(?P<message>.*?)(?:\s+\((?P<symbol>[a-z0-9-]+)\))?\s*$")
_MYPY = re.compile(r"^(?P<file>[^\s:][^:]*):(?P<line>\d+)(?::\d+)*:\s+(?P<severity>error|warning|"
                   r"note):\s+(?P<message>.*?)(?:\s{2}\[(?P<rule>[a-z0-9-]+)\])?\s*$")
_ESLINT_ROW = re.compile(r"^\s+(?P<line>\d+):\d+\s+(?P<severity>error|warning)\s+"
                         r"(?P<message>.+?)(?:\s{2,}(?P<rule>[@\w./-]+))?\s*$")
_ESLINT_SUMMARY = re.compile(r"^\s*[✖✔]|^\s*\d+ errors? and \d+ warnings? potentially fixable")
_PYLINT_SEVERITY = {"C": "convention", "R": "refactor", "W": "warning", "E": "error",
                    "F": "fatal", "I": "info"}

Lines = list[tuple[int, str]]  # (1-based line number, text), blank lines left out


def flake8(lines: Lines) -> list[Item]:
    """flake8's default format; W codes are warnings, the rest errors (pycodestyle's E and
    pyflakes' F codes are what flake8 reports as errors)."""
    return [Item(m["file"], int(m["line"]), m["rule"],
                 "warning" if m["rule"].startswith("W") else "error", m["message"], number)
            for number, m in _matches(_FLAKE8, lines)]


def ruff(lines: Lines) -> list[Item]:
    """ruff's concise lines, or its full output (a head line, then ` --> path:line:col`).
    Every ruff finding is an error: ruff has no other level."""
    found = [Item(m["file"], int(m["line"]), m["rule"], "error", m["message"], number)
             for number, m in _matches(_FLAKE8, lines)]
    head: tuple[int, re.Match[str]] | None = None
    for number, text in lines:
        arrow = _RUFF_ARROW.match(text)
        if arrow and head is not None:
            found.append(Item(arrow["file"], int(arrow["line"]), head[1]["rule"], "error",
                              head[1]["message"], head[0]))
            head = None
        elif (match := _RUFF_HEAD.match(text)) is not None:
            head = (number, match)
    return sorted(found, key=lambda item: item.source_line)


def pylint(lines: Lines) -> list[Item]:
    """pylint's default text: the message id is the rule, its letter the severity."""
    return [Item(m["file"], int(m["line"]), m["rule"], _PYLINT_SEVERITY[m["rule"][0]],
                 f"{m['message']} ({m['symbol']})" if m["symbol"] else m["message"], number)
            for number, m in _matches(_PYLINT, lines)]


def mypy(lines: Lines) -> list[Item]:
    """mypy's errors and warnings; a note explains the finding before it, so it is no item."""
    return [Item(m["file"], int(m["line"]), m["rule"], m["severity"], m["message"], number)
            for number, m in _matches(_MYPY, lines) if m["severity"] != "note"]


def eslint(lines: Lines) -> list[Item]:
    """eslint's stylish output: a file's path, then its findings indented below it."""
    found: list[Item] = []
    current: str | None = None
    for number, text in lines:
        row = _ESLINT_ROW.match(text)
        if row and current is not None:
            found.append(Item(current, int(row["line"]), row["rule"], row["severity"],
                              row["message"], number))
        elif not text[:1].isspace() and not _ESLINT_SUMMARY.match(text):
            current = text.strip()
    return found


def plain(lines: Lines, is_file: Callable[[str], bool]) -> list[Item]:
    """One item per line: a path, `path:line: text` (grep -n), `path: text` or `path text`.
    Every line must start with a file of the repository: that file is what its worker owns."""
    found = []
    for number, text in lines:
        item = _plain_item(text.strip(), number, is_file)
        if item is None:
            raise DispatchError(f"line {number} of the work list ({shown(text.strip(), 70)}) "
                                "names no file of the repository: each line must start with "
                                "the path of the file its work is in (or pass --input-format "
                                "if this is a tool's output)")
        found.append(item)
    return found


_PLAIN_SPLITS = (re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?:\d+:)?\s*(?P<message>.*)$"),
                 re.compile(r"^(?P<file>[^:]+):\s*(?P<message>.*)$"),
                 re.compile(r"^(?P<file>\S+)\s+(?P<message>.*)$"))


def _plain_item(text: str, number: int, is_file: Callable[[str], bool]) -> Item | None:
    if is_file(text):
        return Item(text, source_line=number)
    for pattern in _PLAIN_SPLITS:
        match = pattern.match(text)
        if match and is_file(match["file"]):
            line = match.groupdict().get("line")
            return Item(match["file"], int(line) if line else None, message=match["message"],
                        source_line=number)
    return None


def _matches(pattern: re.Pattern[str], lines: Lines) -> Iterator[tuple[int, re.Match[str]]]:
    for number, text in lines:
        match = pattern.match(text)
        if match:
            yield number, match


def count_matches(pattern_name: str, lines: Lines) -> int:
    """How many lines look like a finding of that tool (format detection)."""
    if pattern_name == "eslint":
        return sum(1 for _, text in lines if _ESLINT_ROW.match(text))
    if pattern_name == "ruff":
        return sum(1 for _, text in lines if _RUFF_ARROW.match(text) or ("[*]" in text and
                   _FLAKE8.match(text)))
    return sum(1 for _ in _matches(_PATTERNS[pattern_name], lines))


_PATTERNS = {"flake8": _FLAKE8, "pylint": _PYLINT, "mypy": _MYPY}
