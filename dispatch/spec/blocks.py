"""Markdown -> a flat list of top-level blocks with their source lines.

markdown-it does the hard parts (code fences that hold `#` lines, lazy list continuations,
nested lists); we keep only what the spec grammar needs: headings, paragraphs and lists, each
with the 0-based line range it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from markdown_it.token import Token

BlockKind = Literal["heading", "paragraph", "list", "other"]


@dataclass
class Block:
    kind: BlockKind
    start: int
    end: int
    level: int = 0  # heading level (1-6) for headings
    text: str = ""  # heading text, with inline markup removed
    items: list[tuple[int, int]] = field(default_factory=list)  # top-level list items


def parse_blocks(source: str) -> list[Block]:
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").parse(source)
    blocks: list[Block] = []
    for index, token in enumerate(tokens):
        if token.level != 0 or token.nesting == -1 or token.map is None:
            continue
        start, end = token.map
        if token.type == "heading_open":
            text = _plain_text(tokens[index + 1])
            blocks.append(Block("heading", start, end, level=int(token.tag[1]), text=text))
        elif token.type == "paragraph_open":
            blocks.append(Block("paragraph", start, end))
        elif token.type in ("bullet_list_open", "ordered_list_open"):
            blocks.append(Block("list", start, end, items=_list_items(tokens, index)))
        else:
            blocks.append(Block("other", start, end))
    return blocks


def _plain_text(inline: Token) -> str:
    parts = [child.content for child in inline.children or [] if child.type in
             ("text", "code_inline", "softbreak")]
    return " ".join("".join(parts).split())


def _list_items(tokens: list[Token], open_index: int) -> list[tuple[int, int]]:
    items: list[tuple[int, int]] = []
    for index in range(open_index + 1, len(tokens)):  # not a slice: no copy per list
        token = tokens[index]
        if token.level == 0:  # the list's own closing token
            break
        if token.type == "list_item_open" and token.level == 1 and token.map is not None:
            items.append((token.map[0], token.map[1]))
    return items
