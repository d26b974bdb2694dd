"""Which headings of a spec are workstreams, and why.

Specs come in two shapes. Most have a section that holds the workstreams ("## Workstreams",
at any level): its child headings are the workstreams. Planning documents often have none:
their streams are top-level sections ("## Stream 1: Core") next to sections about the work
(worktree locations, a timeline, notes), so only the headings that look like workstreams are
taken: the numbered ones, and unnumbered ones that carry workstream fields. A document's
title is never the section, even when it says "Workstreams": everything is under it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from dispatch.spec import fields
from dispatch.spec.blocks import Block

_SECTION = re.compile(r"\b(?:parallel\s+)?work\s*-?\s*streams?\b", re.IGNORECASE)
# Numbering words, strongest first: when a document numbers two kinds of headings ("Stream
# 1" sections and "Phase 1" in its timeline), the workstreams are the stronger kind.
_FAMILIES = (("stream", r"(?:work\s*-?\s*)?stream|ws"), ("team", "team"), ("track", "track"),
             ("agent", "agent"), ("phase", "phase"))
_NUMBERED = re.compile(
    "^(?:" + "|".join(f"(?P<{name}>{word})" for name, word in _FAMILIES) + ")"
    r"[\s#-]*(?P<number>\d+)(?!\.\d)\s*(?:[:.)\-–—]\s*|\s+|$)(?P<rest>.*)$",  # not "1.2"
    re.IGNORECASE)
_LEADING = re.compile(r"^[\W_]+")  # emoji and marks before "Stream 1"
_SCHEDULE = re.compile(r"\(([^()]*)\)\s*$")
_SCHEDULE_WORDS = re.compile(r"\b(?:after|depends?|requires?|needs|blocked|start|immediately|"
                             r"independent|parallel|waits?)\b", re.IGNORECASE)
# An unnumbered top-level section needs two workstream fields: one alone ("**Goal**:" in an
# overview, "**Dependencies**:" in notes) is too common in sections about the work.
TOP_LEVEL_FIELDS = 2


@dataclass(frozen=True)
class Numbered:
    family: str  # "stream", "team", ...
    word: str  # as written: "Workstream", "Stream", "WS"
    number: int
    rest: str  # the title after the number


def numbered(text: str) -> Numbered | None:
    """'🚀 Stream 2: Web' -> Numbered('stream', 'Stream', 2, 'Web'); None when not numbered."""
    match = _NUMBERED.match(_LEADING.sub("", text))
    if not match:
        return None
    family = next(name for name, _ in _FAMILIES if match[name])
    return Numbered(family, match[family], int(match["number"]), match["rest"].strip())


def schedule(text: str) -> str:
    """'Docs (After workstreams 1-4)' -> 'After workstreams 1-4'; '' when there is none."""
    paren = _SCHEDULE.search(text)
    return paren[1].strip() if paren and _SCHEDULE_WORDS.search(paren[1]) else ""


def is_section_title(text: str) -> bool:
    return bool(_SECTION.search(text)) and numbered(text) is None


@dataclass
class Selection:
    heads: list[int]  # block indexes of the workstream headings, in document order
    why: dict[int, str] = field(default_factory=dict)  # block index -> the reason, for both
    container: int | None = None
    title: int | None = None
    family: str = "stream"  # the numbering word of the workstreams ("Stream N", "Phase N")


def select(blocks: list[Block], lines: list[str]) -> Selection:
    return _Selector(blocks, lines).run()


def section_end(blocks: list[Block], heads: list[int], index: int) -> int:
    """The block index where workstream `heads[index]` ends: the next heading at its level or
    above, or the next workstream."""
    head = blocks[heads[index]]
    stop = heads[index + 1] if index + 1 < len(heads) else len(blocks)
    return next((pos for pos in range(heads[index] + 1, stop) if blocks[pos].kind == "heading"
                 and blocks[pos].level <= head.level), stop)


class _Selector:
    def __init__(self, blocks: list[Block], lines: list[str]) -> None:
        self.blocks = blocks
        self.lines = lines
        self.headings = [i for i, b in enumerate(blocks) if b.kind == "heading"]
        first = self.headings[0] if self.headings else None
        # The title: a first heading at level 1, unless it is itself "Stream 1: ...".
        self.title = first if first is not None and blocks[first].level == 1 and numbered(
            blocks[first].text) is None else None
        self.sel = Selection(heads=[], title=self.title)
        self.ends = self._ends()
        self.until = 0  # the end of the last workstream taken at the top level

    def run(self) -> Selection:
        container = self._container()
        if container is not None:
            self._from_container(container)
        if not self.sel.heads:
            self._top_level()
        if not self.sel.heads and self.title is not None and self._may_hold(self.title):
            # A title such as "# Workstreams" over plain sections: nothing else fits.
            self._from_container(self.title)
        if self.title is not None and self.title != self.sel.container:
            self.sel.why[self.title] = "the document's title" + (
                ", not a section of workstreams" if self._may_hold(self.title) else "")
        return self.sel

    # --- the section that holds the workstreams -------------------------------------------

    def _container(self) -> int | None:
        for pos in self.headings:
            if pos == self.title or not self._may_hold(pos):
                continue
            if not self._plain_beside_numbered(pos):
                return pos
            self.sel.why[pos] = ('titled like the workstreams section, but its sub-headings '
                                 'do not look like workstreams and numbered workstream headings '
                                 'elsewhere do')
        return None

    def _may_hold(self, pos: int) -> bool:
        return is_section_title(self.blocks[pos].text) and bool(self._children(pos))

    def _plain_beside_numbered(self, pos: int) -> bool:
        """A "Workstreams" section of plain sub-headings ("Overview", "Dependency graph")
        while "Stream N" headings elsewhere are the workstreams: it only talks about them."""
        if any(self._looks_like_workstream(kid) for kid in self._children(pos)):
            return False
        inside = set(range(pos, self._end(pos)))
        return any(p not in inside and self._numbered(p, "stream") for p in self.headings)

    def _from_container(self, pos: int) -> None:
        kids = self._children(pos)
        family = _family([numbered(self.blocks[k].text) for k in kids])
        counted = any(self._numbered(k, family) for k in kids)
        self.sel.family = family
        for kid in kids:
            self._judge_child(kid, family, counted, self.blocks[pos].text)
        if self.sel.heads:
            self.sel.container = pos
            self.sel.why[pos] = "holds the workstreams"

    def _judge_child(self, kid: int, family: str, counted: bool, where: str) -> None:
        found = self._signals(kid)
        if self._field_name(kid):
            self.sel.why[kid] = "a field name, not a workstream"
        elif self._numbered(kid, family):
            self._take(kid, _numbered_reason(self.blocks[kid].text))
        elif not counted:
            self._take(kid, f"a sub-heading of {_quoted(where)}")
        elif found:
            self._take(kid, f"in {_quoted(where)} and carries {_listed(found)}")
        else:
            self.sel.why[kid] = ("not numbered like the other workstreams here, and carries "
                                 "no workstream field")

    # --- no such section: the headings that look like workstreams -------------------------

    def _top_level(self) -> None:
        candidates = [p for p in self.headings if p != self.title]
        family = _family([numbered(self.blocks[p].text) for p in candidates])
        numbers = [p for p in candidates if self._numbered(p, family)]
        level = min((self.blocks[p].level for p in numbers), default=None)
        self.sel.family = family
        for pos in candidates:
            if pos < self.until:  # inside a workstream taken above
                continue
            reason = self._top_level_reason(pos, family, level)
            if reason is not None:
                self.sel.why.setdefault(pos, reason)  # a reason found earlier is closer
                continue
            self._take(pos, _numbered_reason(self.blocks[pos].text)
                       if self._numbered(pos, family) else
                       f"carries {_listed(self._signals(pos))}")
            self.until = self.ends[pos]

    def _top_level_reason(self, pos: int, family: str, level: int | None) -> str | None:
        """Why the heading at `pos` is not a workstream; None when it is one."""
        block, found = self.blocks[pos], self._signals(pos)
        mark = numbered(block.text)
        if self._field_name(pos):
            return "a field name, outside any workstream"
        if mark is not None and mark.family != family:
            return (f'numbered "{mark.word} N", but the workstreams are numbered '
                    f'"{word(family)} N"')
        if mark is None and len(found) < TOP_LEVEL_FIELDS:
            return _few_fields(found)
        if level is not None and block.level != level:
            return f"at level {block.level}, but the numbered workstreams are at level {level}"
        return None

    # --- helpers --------------------------------------------------------------------------

    def _take(self, pos: int, reason: str) -> None:
        self.sel.heads.append(pos)
        self.sel.why[pos] = reason

    def _looks_like_workstream(self, pos: int) -> bool:
        return numbered(self.blocks[pos].text) is not None or bool(self._signals(pos))

    def _numbered(self, pos: int, family: str) -> bool:
        mark = numbered(self.blocks[pos].text)
        return mark is not None and mark.family == family

    def _field_name(self, pos: int) -> bool:
        return fields.heading_field(self.blocks[pos].text) is not None

    def _end(self, pos: int) -> int:
        return self.ends[pos]

    def _ends(self) -> dict[int, int]:
        """Each heading's section end: the next heading at its level or above."""
        ends: dict[int, int] = {}
        open_: list[int] = []
        for pos in self.headings:
            while open_ and self.blocks[open_[-1]].level >= self.blocks[pos].level:
                ends[open_.pop()] = pos
            open_.append(pos)
        ends.update(dict.fromkeys(open_, len(self.blocks)))
        return ends

    def _children(self, pos: int) -> list[int]:
        inside = [p for p in self.headings if pos < p < self._end(pos)]
        level = min((self.blocks[p].level for p in inside), default=0)
        return [p for p in inside if self.blocks[p].level == level]

    def _signals(self, pos: int) -> set[str]:
        """The workstream fields under a heading, before its first sub-section."""
        own = []
        for block in self.blocks[pos + 1 : self._end(pos)]:
            if block.kind == "heading" and fields.heading_field(block.text) is None:
                break
            own.append(block)
        found = fields.signals(own, self.lines)
        return found | {"depends"} if schedule(self.blocks[pos].text) else found


def _family(marks: list[Numbered | None]) -> str:
    present = {mark.family for mark in marks if mark is not None}
    return next((name for name, _ in _FAMILIES if name in present), "stream")


def _numbered_reason(text: str) -> str:
    mark = numbered(text)
    return f'numbered "{mark.word} N"' if mark else "numbered"


def _few_fields(found: set[str]) -> str:
    if not found:
        return "not numbered like a workstream, and carries no workstream field"
    return (f"not numbered, and carries only {_listed(found)}; number it or give it a "
            "second field (e.g. **Files**) to make it a workstream")


def word(family: str) -> str:
    return "Workstream" if family == "stream" else family.capitalize()


def _quoted(text: str) -> str:
    return f'"{text}"'


def _listed(found: set[str]) -> str:
    order = ["goal", "files", "depends", "branch", "tasks"]
    names = [n for n in order if n in found]
    noun = "field" if len(names) == 1 else "fields"
    return f"the workstream {noun} {', '.join(names)}"
