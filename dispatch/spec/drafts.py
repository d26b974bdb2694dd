"""The workstream headings of a spec -> drafts: title, number, fields and text of each, not
yet named, numbered or checked against each other (that is `parse`)."""

from __future__ import annotations

from dataclasses import dataclass

from dispatch.core.text import visible
from dispatch.spec import headings
from dispatch.spec.blocks import Block
from dispatch.spec.fields import Fields, collect_fields
from dispatch.spec.source import SpecSource
from dispatch.state import names

_SHOWN_HEADING = 50  # characters of a heading quoted in a message


@dataclass
class Draft:
    title: str
    number: int | None
    line: int  # 1-based line in the file
    depends: list[tuple[str, int]]  # dependency texts with their 1-based file lines
    fields: Fields
    raw: str
    heading: str  # the heading as written, shortened, for messages

    def where(self) -> str:
        return f"line {self.line} (`{self.heading}`)"


def drafts_of(source: SpecSource, blocks: list[Block],
              selection: headings.Selection) -> list[Draft]:
    lines = source.body.split("\n")
    result = []
    for index, pos in enumerate(selection.heads):
        end = headings.section_end(blocks, selection.heads, index)
        end_line = blocks[end].start if end < len(blocks) else len(lines)
        result.append(_draft(blocks[pos], blocks[pos + 1 : end], lines, end_line,
                             source.body_offset, selection.family))
    return result


def _draft(head: Block, body: list[Block], lines: list[str], end: int, offset: int,
           family: str) -> Draft:
    text, number = head.text, None
    mark = headings.numbered(text)
    if mark is not None and mark.family == family:
        number, text = mark.number, mark.rest or f"{headings.word(family)} {mark.number}"
    schedule = headings.schedule(text)
    if schedule:
        text = text[: text.rindex("(")].strip()
    fields = collect_fields(body, lines)
    line = head.start + 1 + offset
    depends = [(schedule, line)] if schedule else []
    depends += [(dep_text, dep_line + 1 + offset) for dep_text, dep_line in fields.depends]
    raw = "\n".join(lines[head.start : end]).rstrip() + "\n"
    return Draft(text.strip(" :-–—") or text, number, line, depends, fields, raw,
                 _shorten(lines[head.start].strip()))


def _shorten(text: str) -> str:
    text = visible(text)
    return text if len(text) <= _SHOWN_HEADING else text[: _SHOWN_HEADING - 1] + "…"


def name_of(draft: Draft, position: int) -> str:
    """The workstream name a draft gets (before duplicates are refused)."""
    name = names.slugify_workstream(draft.title) or f"ws-{draft.number or position}"
    # "Workstream 5: Integration" is a fine title, but not a name dispatch keeps for itself.
    return f"{name}-ws" if name in names.RESERVED_WORKSTREAMS else name


def numbers_of(drafts: list[Draft]) -> list[int]:
    """Each draft's number: its own, or the next one no heading claims."""
    taken = {d.number for d in drafts if d.number is not None}
    result, free = [], 1
    for draft in drafts:
        if draft.number is not None:
            result.append(draft.number)
            continue
        while free in taken:
            free += 1
        result.append(free)
        taken.add(free)
    return result
