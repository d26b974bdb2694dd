"""A markdown spec -> a validated `Plan` (see README "Writing a spec" for the grammar)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from dispatch.core.errors import DispatchError, SpecError
from dispatch.spec import dependencies, placeholders, safety
from dispatch.spec.blocks import Block, parse_blocks
from dispatch.spec.fields import Fields, collect_fields
from dispatch.spec.frontmatter import Frontmatter
from dispatch.spec.source import SpecSource, read_spec
from dispatch.state import names
from dispatch.state.plan import AgentOptions, Plan, Workstream

_SECTION = re.compile(r"\b(?:parallel\s+)?work\s*-?\s*streams?\b", re.IGNORECASE)
_NUMBERED = re.compile(r"^(?:(?:work\s*-?\s*)?stream|ws)\s*#?\s*(\d+)\s*(?:[:.)\-–—]\s*|\s+)(.*)$",
                       re.IGNORECASE)
_SCHEDULE = re.compile(r"\(([^()]*)\)\s*$")
_SCHEDULE_WORDS = re.compile(r"\b(?:after|depends?|requires?|needs|blocked|start|immediately|"
                             r"independent|parallel|waits?)\b", re.IGNORECASE)

NO_WORKSTREAMS_HELP = (
    "no workstreams found: add a '## Workstreams' section with one '### Workstream N: Title' "
    "heading per parallel unit, each with a '**Goal**:' line and task bullets")


@dataclass
class Draft:
    title: str
    number: int | None
    line: int  # 1-based line in the file
    depends: list[tuple[str, int]]  # dependency texts with their 1-based file lines
    fields: Fields
    raw: str


def parse_spec(path: Path, display: str | None = None) -> Plan:
    """Parse and validate the spec at `path`; errors name `display` (default: the path)."""
    shown = display or _display_path(path)
    source = read_spec(path, shown)
    blocks = parse_blocks(source.body)
    drafts = _drafts(source, blocks)
    if not drafts:
        raise SpecError(shown, None, NO_WORKSTREAMS_HELP)
    workstreams = _workstreams(drafts, source, shown)
    plan = _plan(source, blocks, workstreams, shown, path)
    placeholders.check(plan, shown)
    plan.warnings.extend(_warnings(plan) + safety.warnings(plan))
    return plan


def _display_path(path: Path) -> str:
    relative = os.path.relpath(path)
    return path.as_posix() if relative.startswith("..") else relative


def _drafts(source: SpecSource, blocks: list[Block]) -> list[Draft]:
    lines = source.body.split("\n")
    heads = _workstream_headings(blocks)
    drafts = []
    for index, head in enumerate(heads):
        end_block = _section_end(blocks, heads, index)
        body_blocks = blocks[blocks.index(head) + 1 : end_block]
        end_line = blocks[end_block].start if end_block < len(blocks) else len(lines)
        drafts.append(_draft(head, body_blocks, lines, end_line, source.body_offset))
    return drafts


def _workstream_headings(blocks: list[Block]) -> list[Block]:
    headings = [b for b in blocks if b.kind == "heading"]
    for pos, section in enumerate(headings):
        if not _SECTION.search(section.text) or _NUMBERED.match(section.text):
            continue
        inside = []
        for heading in headings[pos + 1 :]:
            if heading.level <= section.level:
                break
            inside.append(heading)
        if inside:
            level = min(h.level for h in inside)
            return [h for h in inside if h.level == level]
    # No "Workstreams" section: accept "Workstream N: Title" headings wherever they are.
    return [h for h in headings if _NUMBERED.match(h.text)]


def _section_end(blocks: list[Block], heads: list[Block], index: int) -> int:
    head = heads[index]
    for pos in range(blocks.index(head) + 1, len(blocks)):
        block = blocks[pos]
        if block.kind == "heading" and block.level <= head.level:
            return pos
    return len(blocks)


def _draft(head: Block, body: list[Block], lines: list[str], end: int, offset: int) -> Draft:
    text, number = head.text, None
    numbered = _NUMBERED.match(text)
    if numbered:
        number, text = int(numbered[1]), numbered[2].strip() or f"Workstream {numbered[1]}"
    schedule = ""
    paren = _SCHEDULE.search(text)
    if paren and _SCHEDULE_WORDS.search(paren[1]):
        schedule, text = paren[1].strip(), text[: paren.start()].strip()
    raw = "\n".join(lines[head.start : end]).rstrip() + "\n"
    fields = collect_fields(body, lines)
    line = head.start + 1 + offset
    depends = [(schedule, line)] if schedule else []
    depends += [(dep_text, dep_line + 1 + offset) for dep_text, dep_line in fields.depends]
    return Draft(text.strip(" :-–—") or text, number, line, depends, fields, raw)


def _workstreams(drafts: list[Draft], source: SpecSource, shown: str) -> list[Workstream]:
    fm = source.frontmatter
    named = _names(drafts, shown)
    numbers = _numbers(drafts, shown)
    candidates = [dependencies.Candidate(n, d.title, numbers[i]) for i, (n, d) in
                  enumerate(zip(named, drafts, strict=True))]
    result = []
    for i, draft in enumerate(drafts):
        others = [c for c in candidates if c.name != named[i]]
        deps, note = _dependencies(draft, others, shown, candidates[i])
        result.append(_workstream(draft, named[i], numbers[i], deps, note, fm, shown))
    _check_overrides(source, named, shown)
    _check_cycles(result, shown)
    return result


def _names(drafts: list[Draft], shown: str) -> list[str]:
    seen: dict[str, Draft] = {}
    for draft in drafts:
        name = names.slugify_workstream(draft.title) or f"ws-{draft.number or len(seen) + 1}"
        if name in names.RESERVED_WORKSTREAMS:
            name = f"{name}-ws"  # "Workstream 5: Integration" is a fine title
        if name in seen:
            raise SpecError(shown, draft.line, f"duplicate workstream '{name}' (also at line "
                            f"{seen[name].line}); give each workstream a distinct title")
        seen[name] = draft
    return list(seen)


def _numbers(drafts: list[Draft], shown: str) -> list[int]:
    numbers: list[int] = []
    for position, draft in enumerate(drafts, start=1):
        number = draft.number if draft.number is not None else position
        if number in numbers:
            raise SpecError(shown, draft.line, f"workstream number {number} is used twice; "
                            "number the workstreams 1, 2, 3, ...")
        numbers.append(number)
    return numbers


def _dependencies(draft: Draft, others: list[dependencies.Candidate], shown: str,
                  me: dependencies.Candidate) -> tuple[list[str], str | None]:
    deps: list[str] = []
    notes: list[str] = []
    for text, line in draft.depends:
        try:
            found = dependencies.resolve(text, [*others, me])
        except dependencies.UnknownReference as exc:
            raise SpecError(shown, line, f"unknown dependency {exc} in '{text}'; refer to "
                            "workstreams by number or name") from None
        if me.name in found:
            raise SpecError(shown, line, f"dependency cycle: {me.name} -> {me.name}; a "
                            "workstream cannot depend on itself: remove that dependency")
        deps += [name for name in found if name not in deps]
        if not found and not dependencies.is_no_dependency(text):
            notes.append(text)
    ordered = [c.name for c in others if c.name in deps]
    return ordered, "; ".join(notes) or None


def _workstream(draft: Draft, name: str, number: int, deps: list[str], note: str | None,
                fm: Frontmatter, shown: str) -> Workstream:
    override = fm.workstreams.get(name)
    branch = (override.branch if override else None) or draft.fields.branch or None
    if branch is not None and (branch.startswith("-") or not all(
            names.is_valid_ref_component(p) for p in branch.split("/"))):
        raise SpecError(shown, draft.line, f"branch {branch!r} of workstream '{name}' is not a "
                        "valid git branch name")
    for path in draft.fields.files:
        safety.check_owned_path(path, shown, draft.line, name)
    agent = AgentOptions.model_validate(
        override.model_dump(include=set(AgentOptions.model_fields)) if override else {})
    goal = draft.fields.goal or draft.fields.description or draft.title
    return Workstream(name=name, title=draft.title, number=number, goal=goal,
                      tasks=draft.fields.tasks, files=draft.fields.files, depends_on=deps,
                      dependency_note=note, branch=branch,
                      verify=override.verify if override else None, agent=agent,
                      line=draft.line, raw=draft.raw)


def _check_overrides(source: SpecSource, named: list[str], shown: str) -> None:
    for key in source.frontmatter.workstreams:
        if key not in named:
            raise SpecError(shown, source.line_of("workstreams", key),
                            f"frontmatter workstreams.{key}: no workstream is named "
                            f"'{key}' (the names are: {', '.join(named)})")


def _check_cycles(workstreams: list[Workstream], shown: str) -> None:
    cycle = dependencies.find_cycle({ws.name: ws.depends_on for ws in workstreams})
    if cycle:
        line = next(ws.line for ws in workstreams if ws.name == cycle[0])
        raise SpecError(shown, line, f"dependency cycle: {' -> '.join(cycle)}; "
                        "remove one of these dependencies")


def _plan(source: SpecSource, blocks: list[Block], workstreams: list[Workstream], shown: str,
          path: Path) -> Plan:
    fm = source.frontmatter
    if fm.feature is not None:
        try:
            feature = names.check_feature_name(fm.feature)
        except DispatchError as exc:
            raise SpecError(shown, 2, f"frontmatter feature: {exc}") from None
    else:
        feature = names.feature_from_filename(path.stem)
        if not feature or feature in names.RESERVED_FEATURES:
            raise SpecError(shown, None, "cannot derive a feature name from the file name; "
                            "add 'feature: my-feature' to the frontmatter")
    title = fm.title or _first_h1(blocks) or feature
    agent = AgentOptions.model_validate(fm.model_dump(include=set(AgentOptions.model_fields)))
    return Plan(feature=feature, title=title, spec=str(path), base=fm.base, setup=fm.setup,
                verify=fm.verify, base_port=fm.base_port, max_parallel=fm.max_parallel,
                budget_usd=fm.budget_usd, allow_setup_failure=fm.allow_setup_failure,
                agent=agent, workstreams=workstreams)


def _first_h1(blocks: list[Block]) -> str | None:
    for block in blocks:
        if block.kind == "heading" and block.level == 1:
            return block.text
    return None


def _warnings(plan: Plan) -> list[str]:
    warnings = []
    for i, first in enumerate(plan.workstreams):
        for second in plan.workstreams[i + 1 :]:
            shared = sorted({f"{a}" if a == b else f"{a} ~ {b}" for a in first.files
                             for b in second.files if dependencies.patterns_overlap(a, b)})
            if shared:
                warnings.append(f"{first.name} and {second.name} both own {', '.join(shared)}: "
                                "expect merge conflicts there")
        if not first.tasks:
            warnings.append(f"{first.name} has no tasks; the worker only gets its goal")
    return warnings
