"""`dispatch plan SPEC --explain`: how each heading of a spec was read, one line each —
workstream, field, part of a workstream, or prose — and why. The way to debug a spec that
parses wrongly, so it works on specs that do not parse (a duplicate, a cycle) too."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal

from dispatch.core.text import counted, visible
from dispatch.spec import fields, headings
from dispatch.spec.blocks import Block, parse_blocks
from dispatch.spec.drafts import Draft, drafts_of, name_of
from dispatch.spec.source import display_path, read_spec

Role = Literal["workstream", "field", "part", "prose"]
_SHOWN = 60  # characters of a heading shown


@dataclass(frozen=True)
class Reading:
    """How one heading was read."""

    line: int  # in the file
    heading: str  # as written, shortened, control characters made visible
    role: Role
    verdict: str  # "workstream 'core' (numbered "Stream N"; ...)"


def explain_spec(path: Path, display: str | None = None) -> list[str]:
    readings = read_headings(path, display)
    if not readings:
        return ["the spec has no headings: put each workstream under a heading such as "
                "'### Workstream 1: Title'"]
    width = len(str(readings[-1].line))
    lines = [f"line {r.line:>{width}}  {r.heading}  → {r.verdict}" for r in readings]
    return [*lines, _summary(readings)]


def read_headings(path: Path, display: str | None = None) -> list[Reading]:
    source = read_spec(path, display or display_path(path))
    blocks = parse_blocks(source.body)
    lines = source.body.split("\n")
    selection = headings.select(blocks, lines)
    reader = _Reader(blocks, selection, drafts_of(source, blocks, selection),
                     source.body_offset)
    return [Reading(blocks[pos].start + 1 + source.body_offset, _heading(blocks[pos], lines),
                    *reader.verdict(pos))
            for pos, block in enumerate(blocks) if block.kind == "heading"]


def _summary(readings: list[Reading]) -> str:
    counts = Counter(r.role for r in readings)
    inside = counts["field"] + counts["part"]
    return (f"{counted(counts['workstream'], 'workstream')}; {counted(inside, 'heading')} "
            f"inside them (fields, sub-sections); {counted(counts['prose'], 'heading')} left "
            "as prose")



class _Reader:
    def __init__(self, blocks: list[Block], selection: headings.Selection,
                 drafts: list[Draft], offset: int) -> None:
        self.blocks = blocks
        self.offset = offset
        self.selection = selection
        self.drafts = drafts
        self.names = [name_of(draft, i) for i, draft in enumerate(drafts, start=1)]
        self.owners = {pos: i for i, head in enumerate(selection.heads)
                       for pos in range(head, headings.section_end(blocks, selection.heads, i))}

    def owner(self, pos: int) -> int | None:
        """The index of the workstream whose section holds the heading at `pos`."""
        return self.owners.get(pos)

    def verdict(self, pos: int) -> tuple[Role, str]:
        index = self.owner(pos)
        if index is None:
            return "prose", f"prose ({self._prose_reason(pos)})"
        name = self.names[index]
        if pos == self.selection.heads[index]:
            why = self.selection.why.get(pos, "")
            return "workstream", (f"workstream '{name}' ({why}; "
                                  f"{_goal_source(self.drafts[index])})")
        field = fields.heading_field(self.blocks[pos].text)
        if field is not None:
            return "field", f"field '{field}' of '{name}'"
        if fields.is_note_section(self.blocks[pos].text):
            return "part", f"notes of '{name}' (its text and bullets are notes; checkboxes tasks)"
        return "part", (f"part of '{name}' (a sub-section: its bullets are tasks, its text "
                        "goes along)")

    def _prose_reason(self, pos: int) -> str:
        if pos in self.selection.why:
            return self.selection.why[pos]
        container = self.selection.container
        if container is not None and not container < pos < self._container_end:
            where = self.blocks[container]
            line = where.start + 1 + self.offset
            return f'outside "{where.text}" (line {line}), which holds the workstreams'
        return "inside a section that is not a workstream"

    @cached_property
    def _container_end(self) -> int:
        start = self.selection.container or 0
        level = self.blocks[start].level
        return next((p for p in range(start + 1, len(self.blocks)) if self.blocks[p].kind ==
                     "heading" and self.blocks[p].level <= level), len(self.blocks))


def _goal_source(draft: Draft) -> str:
    if draft.fields.goal:
        return "goal from its Goal field"
    if draft.fields.description:
        return "goal from its first paragraph"
    return "no Goal field and no text: the title is the goal"


def _heading(block: Block, lines: list[str]) -> str:
    written = lines[block.start].strip()
    text = written if written.startswith("#") else f"{'#' * block.level} {block.text}"
    text = visible(text)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"
