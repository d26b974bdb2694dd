"""A markdown spec -> a validated `Plan` (see README "Writing a spec" for the grammar).

Which headings are workstreams is decided in `headings`; each one's fields in `fields`.
"""

from __future__ import annotations

from pathlib import Path

from dispatch.core.errors import DispatchError, SpecError
from dispatch.core.text import shown as quoted
from dispatch.spec import dependencies, headings, placeholders, safety, teams
from dispatch.spec.blocks import Block, parse_blocks
from dispatch.spec.drafts import Draft, drafts_of, name_of, numbers_of
from dispatch.spec.frontmatter import Frontmatter
from dispatch.spec.source import SpecSource, display_path, read_spec
from dispatch.state import names
from dispatch.state.plan import AgentOptions, Plan, PlanWarning, Workstream

NO_WORKSTREAMS_HELP = (
    "no workstreams found: add a '## Workstreams' section with one '### Workstream N: Title' "
    "heading per parallel unit, each with a '**Goal**:' line and task bullets "
    "('dispatch plan SPEC --explain' shows how each heading was read)")


class NoWorkstreams(SpecError):
    """The spec holds no workstream (`dispatch start` adds what else the file could be)."""


def parse_spec(path: Path, display: str | None = None) -> Plan:
    """Parse and validate the spec at `path`; errors name `display` (default: the path)."""
    shown = display or display_path(path)
    source = read_spec(path, shown)
    blocks = parse_blocks(source.body)
    selection = headings.select(blocks, source.body.split("\n"))
    drafts = drafts_of(source, blocks, selection)
    if not drafts:
        raise NoWorkstreams(shown, None, NO_WORKSTREAMS_HELP)
    warnings: list[PlanWarning] = []
    workstreams = _workstreams(drafts, source, shown, selection.family, warnings)
    plan = _plan(source, blocks, workstreams, shown, path)
    placeholders.check(plan, shown)
    safe = [PlanWarning(line=None, message=message) for message in safety.warnings(plan)]
    plan.warnings.extend(warnings + _warnings(plan) + safe)
    return plan


def _workstreams(drafts: list[Draft], source: SpecSource, shown: str, unit: str,
                 warnings: list[PlanWarning]) -> list[Workstream]:
    named = _names(drafts, shown)
    numbers = _numbers(drafts, shown)
    candidates = [dependencies.Candidate(n, d.title, numbers[i]) for i, (n, d) in
                  enumerate(zip(named, drafts, strict=True))]
    result = []
    for i, draft in enumerate(drafts):
        resolver = _Resolver(candidates, candidates[i], unit, shown)
        deps, note = resolver.resolve(draft.depends)
        warnings.extend(resolver.warnings)
        result.append(_workstream(draft, named[i], numbers[i], deps, note, source.frontmatter,
                                  shown))
    _check_overrides(source, named, shown)
    _check_cycles(result, shown)
    return result


def _names(drafts: list[Draft], shown: str) -> list[str]:
    seen: dict[str, Draft] = {}
    for position, draft in enumerate(drafts, start=1):
        name = name_of(draft, position)
        if name in seen:
            raise SpecError(shown, draft.line, f"duplicate workstream '{name}': "
                            f"{seen[name].where()} and {draft.where()}; give each workstream a "
                            "distinct title")
        seen[name] = draft
    return list(seen)


def _numbers(drafts: list[Draft], shown: str) -> list[int]:
    first: dict[int, Draft] = {}
    for draft in drafts:
        if draft.number is None:
            continue
        if draft.number in first:
            raise SpecError(shown, draft.line, f"workstream number {draft.number} is used "
                            f"twice: {first[draft.number].where()} and {draft.where()}; "
                            "number the workstreams 1, 2, 3, ...")
        first[draft.number] = draft
    return numbers_of(drafts)


class _Resolver:
    """One workstream's dependency texts -> the workstreams they name, a note, warnings."""

    def __init__(self, candidates: list[dependencies.Candidate],
                 me: dependencies.Candidate, unit: str, shown: str) -> None:
        self.candidates = candidates
        self.me = me
        self.unit = unit
        self.shown = shown
        self.warnings: list[PlanWarning] = []

    def resolve(self, texts: list[tuple[str, int]]) -> tuple[list[str], str | None]:
        deps: list[str] = []
        notes: list[str] = []
        for text, line in texts:
            found = self._names_in(text, line)
            deps += [name for name in found if name not in deps]
            if not found and not dependencies.is_no_dependency(text):
                notes.append(text)
                self.warnings.append(PlanWarning(line=line, message=(
                    f"dependency {quoted(text, 80)} of workstream '{self.me.name}' names no "
                    "workstream: it is kept as a note; refer to a workstream by its number or "
                    "name if it means one")))
        ordered = [c.name for c in self.candidates if c.name in deps]
        return ordered, "; ".join(notes) or None

    def _names_in(self, text: str, line: int) -> list[str]:
        try:
            found = dependencies.resolve(text, self.candidates, self.unit)
        except dependencies.UnknownReference as exc:
            raise SpecError(self.shown, line, f"unknown dependency {exc} in '{text}'; refer "
                            "to workstreams by number or name") from None
        if self.me.name in found:
            raise SpecError(self.shown, line, f"dependency cycle: {self.me.name} -> "
                            f"{self.me.name}; a workstream cannot depend on itself: remove "
                            "that dependency")
        return found


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
    competing, notes = teams.teams_of(draft.fields.notes, override, (shown, draft.line), name)
    return Workstream(name=name, title=draft.title, number=number, goal=goal,
                      tasks=draft.fields.tasks, files=draft.fields.files, depends_on=deps,
                      dependency_note=note, notes=notes, branch=branch,
                      verify=override.verify if override else None, agent=agent,
                      line=draft.line, raw=draft.raw, teams=competing)


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
                on_event=fm.on_event, judge=fm.judge, integrate=None if fm.integrate is None else
                fm.integrate == "auto", fix_rounds=fm.fix_rounds, queue=fm.queue,
                agent=agent, workstreams=workstreams)


def _first_h1(blocks: list[Block]) -> str | None:
    for block in blocks:
        if block.kind == "heading" and block.level == 1:
            return block.text
    return None


NO_FILES = ("no workstream lists its files (a '**Files**:' line): dispatch can neither warn "
            "about overlapping files nor check that each session kept to its own")


def _warnings(plan: Plan) -> list[PlanWarning]:
    warnings = []
    for i, first in enumerate(plan.workstreams):
        for second in plan.workstreams[i + 1 :]:
            shared = sorted({f"{a}" if a == b else f"{a} ~ {b}" for a, b in
                             dependencies.overlapping(first.files, second.files)})
            if shared:
                warnings.append(PlanWarning(line=second.line, message=(
                    f"{first.name} and {second.name} both own {', '.join(shared)}: expect "
                    "merge conflicts there")))
        if not first.tasks:
            warnings.append(PlanWarning(line=first.line, message=(
                f"{first.name} has no tasks; the worker only gets its goal")))
    if not any(ws.files for ws in plan.workstreams):
        warnings.append(PlanWarning(line=None, message=NO_FILES))
    return warnings
