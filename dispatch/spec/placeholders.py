"""A spec made by `dispatch start <new-name>` starts as a skeleton with placeholder text; a
workstream that still holds it would send a paid session to work on "A concrete task"."""

from __future__ import annotations

from dispatch.core.errors import SpecError
from dispatch.state.plan import Plan

# The skeleton's own words (resources/templates/spec_skeleton.md.j2).
PHRASES = ("**Goal**: ...", "What this workstream delivers, in one sentence.",
           "A concrete task", "Another task", "A task that needs the first two",
           "path/owned/by/this/workstream/**", "another/path/**")


def check(plan: Plan, shown: str) -> None:
    """Raise, naming the lines, when a workstream still holds the skeleton's placeholders."""
    for ws in plan.workstreams:
        lines = [ws.line + offset for offset, text in enumerate(ws.raw.split("\n"))
                 if any(phrase in text for phrase in PHRASES)]
        if lines:
            where = ", ".join(str(n) for n in lines[:8])
            raise SpecError(shown, lines[0], f"workstream '{ws.name}' still holds the "
                            f"skeleton's placeholder text (line(s) {where}): replace it with "
                            "the real goal, files and tasks, or delete that workstream")
