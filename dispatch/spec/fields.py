"""One workstream's section of a spec -> its fields (goal, tasks, files, dependencies, branch).

Fields are written either as `**Field**: value` lines or as a label ("Tasks:", a sub-heading
"Files to modify") with a list below. Bullets that follow no label are tasks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dispatch.spec.blocks import Block

_ALIASES: dict[str, tuple[str, ...]] = {
    "goal": ("goal", "goals", "objective", "purpose", "mission", "summary"),
    "tasks": ("tasks", "task list", "todo", "to do", "to-do", "steps", "work items",
              "deliverables", "checklist"),
    "files": ("files", "owned files", "file ownership", "ownership", "owns", "key files",
              "files to modify", "files to create", "files to modify/create",
              "files to create/modify", "files owned", "paths", "scope"),
    "depends": ("depends on", "dependencies", "dependency", "depends", "after", "requires",
                "blocked by", "prerequisites", "waits for"),
    "branch": ("branch",),
}
_FIELD_OF = {alias: name for name, aliases in _ALIASES.items() for alias in aliases}
_LABEL = re.compile(
    r"^\s*(?:[*_]{1,2})?\s*(?P<label>[A-Za-z][A-Za-z /&-]{0,40}?)\s*(?:[*_]{1,2})?\s*:"
    r"\s*(?:[*_]{1,2}(?=\s|$))?\s*(?P<value>.*)$"
)
_MARKER = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])\s+(?:\[[ xX]\]\s+)?")
_BACKTICKED = re.compile(r"`([^`]+)`")


@dataclass
class Fields:
    goal: str = ""
    description: str = ""
    tasks: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    depends: list[tuple[str, int]] = field(default_factory=list)  # (text, 0-based line)
    branch: str = ""


def label_of(text: str) -> tuple[str, str] | None:
    """'**Files**: `a.py`' -> ('files', '`a.py`'); None when the text is no field label."""
    match = _LABEL.match(text)
    if not match:
        return None
    name = _FIELD_OF.get(" ".join(match["label"].lower().split()))
    return (name, match["value"].strip()) if name else None


def collect_fields(blocks: list[Block], lines: list[str]) -> Fields:
    fields = Fields()
    current: str | None = None
    for block in blocks:
        if block.kind == "heading":
            found = label_of(block.text if block.text.endswith(":") else block.text + ":")
            current = _apply_label(fields, found, block.start) if found else "other"
        elif block.kind == "paragraph":
            for offset, line in enumerate(lines[block.start : block.end]):
                current = _paragraph_line(fields, current, line, block.start + offset)
        elif block.kind == "list":
            for start, end in block.items:
                current = _list_item(fields, current, lines, start, end)
    return fields


def _apply_label(fields: Fields, found: tuple[str, str], line: int) -> str | None:
    """Store an inline value; return the field that following lists belong to."""
    name, value = found
    if not value:
        return name
    _add(fields, name, value, line)
    return None


def _paragraph_line(fields: Fields, current: str | None, line: str, number: int) -> str | None:
    found = label_of(line)
    if found:
        return _apply_label(fields, found, number)
    text = _strip_emphasis(line)
    if current in ("goal", "files", "depends", "branch"):
        _add(fields, current, text, number)
    elif not fields.description:
        fields.description = text
    return current


def _list_item(fields: Fields, current: str | None, lines: list[str], start: int,
               end: int) -> str | None:
    # A label typed right under a list without a blank line is, for markdown, a lazy
    # continuation of the last item; for the author it is the next field.
    lazy = next((i for i in range(start + 1, end) if label_of(lines[i])
                 and not lines[i][:1].isspace()), end)
    first = _MARKER.sub("", lines[start], count=1)
    found = label_of(first)
    if found:
        inner = _apply_label(fields, found, start)
        for child_start in _child_items(lines, start + 1, lazy):
            _add_item(fields, inner or "tasks", lines, child_start, lazy)
    else:
        _add_item(fields, current, lines, start, lazy)
    for number in range(lazy, end):
        current = _paragraph_line(fields, current, lines[number], number)
    return current


def _add_item(fields: Fields, current: str | None, lines: list[str], start: int,
              end: int) -> None:
    if current in ("files", "depends", "branch", "goal"):
        _add(fields, current, _MARKER.sub("", lines[start], count=1).strip(), start)
    else:
        fields.tasks.append(task_text(lines[start:end]))


def _add(fields: Fields, name: str, value: str, line: int) -> None:
    if name == "goal":
        fields.goal = f"{fields.goal} {_strip_emphasis(value)}".strip()
    elif name == "files":
        fields.files.extend(p for p in paths_in(value) if p not in fields.files)
    elif name == "depends":
        fields.depends.append((value, line))
    elif name == "branch":
        fields.branch = fields.branch or value.strip("`'\" ")
    elif name == "tasks":
        fields.tasks.append(_strip_emphasis(value))


def _child_items(lines: list[str], start: int, end: int) -> list[int]:
    return [i for i in range(start, end) if _MARKER.match(lines[i])]


def task_text(item_lines: list[str]) -> str:
    """A list item (and its nested lines) -> task text, nested lines kept, marker removed."""
    lines = [line.rstrip() for line in item_lines]
    while lines and not lines[-1].strip():
        lines.pop()
    marker = _MARKER.match(lines[0])
    indent = marker.end() if marker else 0
    head = lines[0][indent:].strip()
    body = [_dedent(line, indent) for line in lines[1:]]
    return "\n".join([head, *body])


def _dedent(line: str, indent: int) -> str:
    spaces = len(line) - len(line.lstrip(" "))
    return line[min(spaces, indent) :]


def paths_in(text: str) -> list[str]:
    """'`a.py`, `b/**`' or 'a.py, b/' or 'a.py - why' -> the paths named."""
    quoted = _BACKTICKED.findall(text)
    if quoted:
        return [q.strip() for q in quoted if q.strip()]
    parts = re.split(r"[,;]|\s+and\s+", text)
    found = [part.split()[0].strip("*_\"'") for part in parts if part.split()]
    return [p.rstrip(".:") for p in found if p and p not in ("-", "—")]


def _strip_emphasis(text: str) -> str:
    return " ".join(re.sub(r"(\*\*|__)", "", text).split())
