"""The groups of a split -> the text of a spec that `dispatch plan` and `start` read as they
read any other (README "Writing a spec"): one workstream per group, owning its files, its
items as checkbox tasks, the common instructions above them all.

Items are written one task each while a workstream has few; past `GROUP_AFTER` they are
grouped, one task per file (or per rule, for --by rule/severity) with the items nested
under it, so that TASKS.md stays readable — unless the spec is for the queue (--batch-size),
which shows a session K tasks at a time and takes a task's file from its first path: then
one task per item. Every item line starts with `path:line` in
backticks: whoever reads the spec (or greps it) finds each item under exactly one
workstream. Tool messages are untrusted text: one line each, control characters made
visible, and nothing in them can open an HTML comment that would hide the rest of the spec.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePosixPath

from dispatch.commands.split.balance import Group
from dispatch.commands.split.items import FileWork, Item
from dispatch.core.text import visible_line
from dispatch.state import names

GROUP_AFTER = 20
MAX_LABELS_IN_TITLE = 3


@dataclass(frozen=True)
class Drafted:
    """One workstream as the spec will say it."""

    name: str
    title: str
    files: list[str]
    tasks: list[str]  # as `dispatch plan` reads them back: nested lines under the first


@dataclass(frozen=True)
class Header:
    feature: str
    title: str
    about: str  # where the work list came from and how it was cut
    task: str  # the instructions every workstream gets
    batch_size: int | None = None


def draft(groups: list[Group], by: str, *, grouped: bool = True) -> list[Drafted]:
    """`grouped`: many items become one task per file or rule; without, one task per item
    (for the queue, which hands out tasks K at a time and reads one file from each)."""
    drafted: list[Drafted] = []
    taken: set[str] = set()
    for number, group in enumerate(groups, start=1):
        title = _title(group, number)
        name = _name(title)
        if name in taken:  # two titles that slug alike: the number tells them apart
            title = f"{title} {number}"
            name = _name(title)
        taken.add(name)
        drafted.append(Drafted(name, title, [f.path for f in group.files],
                               tasks_of(group, by, GROUP_AFTER if grouped else None)))
    return drafted


def render(header: Header, drafted: list[Drafted]) -> str:
    front = [f'feature: "{header.feature}"']  # quoted: YAML would read `1e3` as a number
    if header.batch_size is not None:  # read by `dispatch start --queue`
        front.append(f"queue:\n  batch_size: {header.batch_size}")
    lines = ["---", *front, "---", f"# {header.title}", "", header.about, "",
             "## Instructions for every workstream", "", header.task.strip(), "",
             "## Workstreams", ""]
    goal = _goal(header.task)
    for number, ws in enumerate(drafted, start=1):
        lines += [f"### Workstream {number}: {ws.title}", "", f"**Goal**: {goal}",
                  "**Files**: " + ", ".join(f"`{path}`" for path in ws.files), "",
                  "**Tasks**:"]
        lines += ["- [ ] " + task.replace("\n", "\n  ") for task in ws.tasks]
        lines.append("")
    return "\n".join(lines)


def tasks_of(group: Group, by: str, group_after: int | None = GROUP_AFTER) -> list[str]:
    items = [item for work in group.files for item in _sorted(work)]
    if not items:  # a plain list of files: the file is the task
        return _grouped([(f"`{f.path}`", str(PurePosixPath(f.path).parent)) for f in
                         group.files], lambda folder, n: f"`{folder}/`: {n} files",
                        group_after)
    keyed = [(item_line(item), (item.rule or "other") if by in ("rule", "severity") else
              item.file) for item in items]
    if by in ("rule", "severity"):
        keyed.sort(key=lambda pair: pair[1])
        return _grouped(keyed, lambda rule, n: f"rule {rule}: {n} items", group_after)
    return _grouped(keyed, lambda path, n: f"`{path}`: {n} items", group_after)


def item_line(item: Item) -> str:
    where = f"`{item.file}:{item.line}`" if item.line else f"`{item.file}`"
    text = " ".join(part for part in (item.rule, _safe(item.message)) if part)
    return f"{where} {text}".rstrip()


def _grouped(keyed: list[tuple[str, str]], head: Callable[[str, int], str],
             group_after: int | None) -> list[str]:
    if group_after is None or len(keyed) <= group_after:
        return [line for line, _ in keyed]
    groups: dict[str, list[str]] = {}
    for line, key in keyed:
        groups.setdefault(key, []).append(line)
    return ["\n".join([head(key, len(lines)), *(f"- {line}" for line in lines)])
            for key, lines in groups.items()]


def _sorted(work: FileWork) -> list[Item]:
    return sorted(work.items, key=lambda i: (i.line or 0, i.rule or "", i.source_line))


def _safe(message: str) -> str:
    # `<!--` would open an HTML comment that hides what follows from the parser (and from
    # a reader of the rendered markdown); a backslash keeps it literal text.
    return visible_line(message).replace("<!--", "<\\!--")


def _title(group: Group, number: int) -> str:
    if not group.labels:
        return f"Part {number}"
    shown = group.labels[:MAX_LABELS_IN_TITLE]
    title = " + ".join(visible_line(label) for label in shown)
    if len(group.labels) > len(shown):
        title += f" and {len(group.labels) - len(shown)} more"
    if group.part is not None:
        title += f", part {group.part[0]} of {group.part[1]}"
    return title


def _name(title: str) -> str:
    name = names.slugify_workstream(title) or "part"
    return f"{name}-ws" if name in names.RESERVED_WORKSTREAMS else name


def _goal(task: str) -> str:
    """The first paragraph of the instructions, on one line; a pointer to the rest."""
    paragraphs = [p for p in task.strip().split("\n\n") if p.strip()]
    first = visible_line(paragraphs[0]) if paragraphs else ""
    more = " (the rest: 'Instructions for every workstream' in the spec)" \
        if len(paragraphs) > 1 else ""
    return f"{first}{more}"
