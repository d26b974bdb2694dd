"""One workstream's section of a spec -> its fields (goal, tasks, files, dependencies, branch,
notes).

Fields are written either as `**Field**: value` lines or as a label ("Tasks:", a sub-heading
"Files to modify") with a list below. Bullets that follow no label are tasks. A bold label
dispatch does not know (`**Worktree**: ../app`) is a note: shown to people and to the worker,
never taken as a goal, a file or a task.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dispatch.spec.blocks import Block

_ALIASES: dict[str, tuple[str, ...]] = {
    "goal": ("goal", "goals", "objective", "purpose", "mission", "summary", "description",
             "focus"),
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
# The labels that say "this section is a workstream" on their own. Words that other sections
# use too ("Summary", "Steps", "Requires", "Scope") name a field inside a workstream but do
# not make one.
_SIGNALS = frozenset(_FIELD_OF) - {"purpose", "mission", "summary", "description", "focus",
                                   "steps", "todo", "to do", "to-do", "work items",
                                   "deliverables", "checklist", "paths", "scope", "after",
                                   "requires", "prerequisites"}
# Sub-sections whose bullets are remarks, not work: notes, like unknown fields.
_NOTE_SECTIONS = frozenset({"notes", "note", "context", "background", "risks", "open questions",
                            "questions", "references", "links", "out of scope", "non-goals"})
_LABEL = re.compile(
    r"^\s*(?:[*_]{1,2})?\s*(?P<label>[A-Za-z][A-Za-z /&-]{0,40}?)\s*(?:[*_]{1,2})?\s*:"
    r"\s*(?:[*_]{1,2}(?=\s|$))?\s*(?P<value>.*)$"
)
# Any bold label, known or not: `**Worktree**: ../app` or `**Owner:** Ada`.
_BOLD_LABEL = re.compile(
    r"^\s*(?:\*\*|__)(?P<label>\w[\w /&().'-]{0,40}?)\s*(?::\s*(?:\*\*|__)|(?:\*\*|__)\s*:)"
    r"\s*(?P<value>.*)$")
_MARKER = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])\s+(?:\[[ xX]\]\s+)?")
_CHECKBOX = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])\s+\[[ xX]\]\s")
_BACKTICKED = re.compile(r"`([^`]+)`")
_VALUED = ("goal", "files", "depends", "branch")  # fields whose lists hold values, not tasks


@dataclass
class Fields:
    goal: str = ""
    description: str = ""  # the first prose paragraph: the goal when there is no Goal field
    tasks: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    depends: list[tuple[str, int]] = field(default_factory=list)  # (text, 0-based line)
    branch: str = ""
    notes: list[str] = field(default_factory=list)


def label_of(text: str) -> tuple[str, str] | None:
    """'**Files**: `a.py`' -> ('files', '`a.py`'); None when the text is no field label."""
    match = _LABEL.match(text)
    if not match:
        return None
    name = _FIELD_OF.get(_alias(match["label"]))
    return (name, match["value"].strip()) if name else None


def heading_field(text: str) -> str | None:
    """The field a sub-heading such as '#### Files to modify:' introduces, if any."""
    found = label_of(text if text.endswith(":") else text + ":")
    return found[0] if found else None


def is_note_section(text: str) -> bool:
    """Whether a sub-heading ('#### Risks') holds remarks rather than work."""
    return _alias(text.rstrip(": ")) in _NOTE_SECTIONS


def signals(blocks: list[Block], lines: list[str]) -> set[str]:
    """The workstream fields that these blocks label with a word only workstreams use."""
    found: set[str] = set()
    for block in blocks:
        if block.kind == "heading":
            texts = [block.text if block.text.endswith(":") else block.text + ":"]
        elif block.kind == "paragraph":
            texts = lines[block.start : block.end]
        elif block.kind == "list":
            texts = [_MARKER.sub("", lines[start], count=1) for start, _ in block.items]
        else:
            continue
        found |= {_FIELD_OF[alias] for alias in map(_signal_alias, texts) if alias}
    return found


def _signal_alias(text: str) -> str | None:
    match = _LABEL.match(text)
    alias = _alias(match["label"]) if match else ""
    return alias if alias in _SIGNALS else None


def _alias(label: str) -> str:
    return " ".join(label.lower().split())


def collect_fields(blocks: list[Block], lines: list[str]) -> Fields:
    collector = _Collector(lines)
    for block in blocks:
        if block.kind == "heading":
            collector.heading(block)
        elif block.kind == "paragraph":
            collector.paragraph(block)
        elif block.kind == "list":
            collector.bullets(block)
    return collector.fields


class _Collector:
    """Walks a workstream's blocks; `current` is the field that following text belongs to."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.fields = Fields()
        self.current: str | None = None
        self.note_label = ""

    def heading(self, block: Block) -> None:
        found = label_of(block.text if block.text.endswith(":") else block.text + ":")
        if found:
            self.current = self._label(found, block.start)
        elif is_note_section(block.text):
            self.current, self.note_label = "section", block.text.rstrip(": ")
        else:
            self.current = "other"  # "#### Backend changes": its bullets are tasks

    def paragraph(self, block: Block) -> None:
        if self.current == "section":  # "#### Notes": each paragraph is a note
            text = _strip_emphasis(" ".join(self.lines[block.start : block.end]))
            self.fields.notes.append(f"{self.note_label}: {text}")
            return
        if self.current == "note":  # a note's list may follow a blank line; its prose not
            self.current = None
        prose = [text for number in range(block.start, block.end)
                 if (text := self._line(self.lines[number], number))]
        self._describe(prose)

    def bullets(self, block: Block) -> None:
        # A list that labels known fields ("- **Branch**: x") is a list of fields: its other
        # bold labels are fields too (unknown ones: notes), not tasks.
        of_fields = any(label_of(_MARKER.sub("", self.lines[start], count=1))
                        for start, _ in block.items)
        for start, end in block.items:
            self._item(start, end, of_fields)

    def _describe(self, prose: list[str]) -> None:
        if prose and not self.fields.description:
            self.fields.description = " ".join(prose)

    def _label(self, found: tuple[str, str], line: int) -> str | None:
        """Store an inline value; return the field that following lists belong to."""
        name, value = found
        if not value:
            return name
        self._add(name, value, line)
        return None

    def _line(self, line: str, number: int) -> str:
        """Take one paragraph line; return it when it is prose (for the description)."""
        found = label_of(line)
        if found:
            self.current = self._label(found, number)
            return ""
        if self._note(line):
            return ""
        text = _strip_emphasis(line)
        if self.current in _VALUED:
            self._add(self.current, text, number)
            return ""
        if self.current == "note":
            self.fields.notes[-1] = f"{self.fields.notes[-1]} {text}".strip()
            return ""
        return text

    def _note(self, text: str) -> bool:
        match = _BOLD_LABEL.match(text)
        if not match:
            return False
        self.note_label = " ".join(match["label"].split())
        value = _strip_emphasis(match["value"])
        self.fields.notes.append(f"{self.note_label}: {value}" if value else
                                 f"{self.note_label}:")
        self.current = None if value else "note"
        return True

    def _item(self, start: int, end: int, of_fields: bool) -> None:
        # A label typed right under a list without a blank line is, for markdown, a lazy
        # continuation of the last item; for the author it is the next field.
        lines = self.lines
        lazy = next((i for i in range(start + 1, end) if _is_label(lines[i])
                     and not lines[i][:1].isspace()), end)
        first = _MARKER.sub("", lines[start], count=1)
        found = label_of(first)
        if found:
            inner = self._label(found, start)
            for child, child_end in _child_items(lines, start + 1, lazy):
                self._add_item(inner or "tasks", child, child_end)
        elif of_fields and self._note(first):
            for child, child_end in _child_items(lines, start + 1, lazy):
                self._add_item("note", child, child_end)
        else:
            self._add_item(self.current, start, lazy)
        self._describe([text for number in range(lazy, end)
                        if (text := self._line(lines[number], number))])

    def _add_item(self, current: str | None, start: int, end: int) -> None:
        text = _MARKER.sub("", self.lines[start], count=1).strip()
        if current in _VALUED:
            self._add(current, text, start)
        elif current in ("note", "section") and not _CHECKBOX.match(self.lines[start]):
            # A checkbox is a to-do whatever label it is under; a plain bullet under an
            # unknown label belongs to that label.
            self.fields.notes.append(f"{self.note_label}: {_strip_emphasis(text)}")
        else:
            self.fields.tasks.append(task_text(self.lines[start:end]))

    def _add(self, name: str, value: str, line: int) -> None:
        fields = self.fields
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


def _is_label(line: str) -> bool:
    return bool(label_of(line) or _BOLD_LABEL.match(line))


def _child_items(lines: list[str], start: int, end: int) -> list[tuple[int, int]]:
    """The items of the list nested in an item, each with the lines up to the next one: a
    child's own nested items stay in its text."""
    marked = [i for i in range(start, end) if _MARKER.match(lines[i])]
    if not marked:
        return []
    indent = min(_indent(lines[i]) for i in marked)
    starts = [i for i in marked if _indent(lines[i]) == indent]
    return list(zip(starts, [*starts[1:], end], strict=True))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


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
    return line[min(_indent(line), indent) :]


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
