"""One table, three presentations: the only way dispatch prints rows of things.

The first reader of dispatch's output is usually Claude Code reading a Bash tool result, not
a person at a wide terminal; so no presentation ever cuts a value:
- `plain` (the default off a terminal): one line per row, `label value` pairs and the full
  note, then the footer lines;
- `markdown`: a GitHub table (what the slash commands ask for; Claude renders it);
- `rich` (the default on a terminal): aligned columns that fit the width by dropping the
  least important columns and, when the note has too little room, putting each note on its
  own line under the table; with a height (`status --watch`), notes shrink to one line so
  every row and the footer stay on the screen.
Every value passes through `visible_line`: text from specs, workers and file names cannot
steer the terminal. The format changes the presentation, never what is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from dispatch.core.text import visible_line

if TYPE_CHECKING:
    from rich.console import RenderableType

Format = Literal["rich", "plain", "markdown"]
FORMATS: tuple[Format, ...] = ("rich", "plain", "markdown")
MIN_NOTE = 40  # narrower than this, notes go on lines of their own
_GAP = 3  # between columns in the rich layout (padding on both sides and a separator)


@dataclass(frozen=True)
class Column:
    header: str
    plain: str = "{}"  # how a value reads on a plain line: "tasks {}", "{} turns", "note: {}"
    drop: int = 0  # 0: always shown; otherwise dropped on a narrow terminal, highest first
    wide: bool = False  # free text (a note, a goal): the one column that may wrap
    right: bool = False


@dataclass
class Table:
    title: str
    columns: list[Column]
    rows: list[list[str]] = field(default_factory=list)
    footer: list[str] = field(default_factory=list)

    def add(self, *cells: str) -> None:
        self.rows.append([visible_line(cell) for cell in cells])


def plain(table: Table) -> str:
    lines = [visible_line(table.title)] if table.title else []
    for row in table.rows:
        parts = [column.plain.format(value) for column, value in zip(table.columns, row,
                                                                      strict=True) if value]
        lines.append("  ".join(parts))
    lines += [visible_line(line) for line in table.footer]
    return "\n".join(lines) + "\n"


def markdown(table: Table) -> str:
    def cell(text: str) -> str:
        return text.replace("\\", "\\\\").replace("|", "\\|") or " "

    lines = [f"**{_md_text(table.title)}**", ""] if table.title else []
    lines.append("| " + " | ".join(cell(c.header) for c in table.columns) + " |")
    lines.append("| " + " | ".join("---:" if c.right else "---" for c in table.columns) + " |")
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in table.rows]
    if table.footer:
        lines += ["", *(_md_text(line) for line in table.footer)]
    return "\n".join(lines) + "\n"


def _md_text(text: str) -> str:
    return visible_line(text).replace("*", "\\*").replace("_", "\\_")


def rich(table: Table, width: int, height: int | None = None) -> RenderableType:
    from rich import box
    from rich.console import Group
    from rich.table import Table as RichTable
    from rich.text import Text

    shown = _fitting_columns(table, width)
    note = next((i for i in shown if table.columns[i].wide), None)
    room = width - sum(_width(table, i) + _GAP for i in shown if i != note)
    stacked = note is not None and room < MIN_NOTE
    grid = RichTable(box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False, expand=False)
    for i in shown:
        if i == note and stacked:
            continue
        column = table.columns[i]
        grid.add_column(column.header, justify="right" if column.right else "left",
                        no_wrap=not column.wide, min_width=None if column.wide else
                        _width(table, i), overflow="fold")
    one_line = height is not None
    for row in table.rows:
        grid.add_row(*[_cut(row[i], room) if i == note and one_line else row[i]
                       for i in shown if not (i == note and stacked)])
    parts: list[RenderableType] = [Text(visible_line(table.title), style="bold")] \
        if table.title else []
    parts.append(grid)
    if stacked and note is not None:
        for row in table.rows:
            text = _cut(row[note], width - len(row[0]) - 2) if one_line else row[note]
            if text:
                parts.append(Text(f"{row[0]}: {text}"))
    parts += [Text(visible_line(line)) for line in table.footer]
    return Group(*parts)


def _width(table: Table, index: int) -> int:
    return max([len(table.columns[index].header), *(len(row[index]) for row in table.rows)])


def _fitting_columns(table: Table, width: int) -> list[int]:
    """Indexes of the columns to show: drop the least important until the fixed ones fit."""
    shown = list(range(len(table.columns)))

    def fixed() -> int:
        return sum(_width(table, i) + _GAP for i in shown if not table.columns[i].wide)

    droppable = sorted((i for i in shown if table.columns[i].drop),
                       key=lambda i: -table.columns[i].drop)
    for index in droppable:
        if fixed() <= width:
            break
        shown.remove(index)
    return shown


def _cut(text: str, room: int) -> str:
    room = max(room, 8)
    return text if len(text) <= room else text[: room - 1] + "…"


def render(table: Table, fmt: Format, width: int = 80,
           height: int | None = None) -> str | RenderableType:
    if fmt == "plain":
        return plain(table)
    if fmt == "markdown":
        return markdown(table)
    return rich(table, width, height)
