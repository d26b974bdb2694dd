"""`.worktrees/<feature>/compare/<workstream>.md`: the competing teams side by side — the
measured facts in one table, the pick and why, the judge's review when there was one, then
each team's RESULTS.md and diffstat. Rendered from templates/COMPARISON.md.j2."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from dispatch.core import render
from dispatch.integration.compare import Attempt, Evidence
from dispatch.state.model import now
from dispatch.state.paths import FeaturePaths
from dispatch.state.store import write_atomic

# The pick rule, as the document (and the README) states it.
RULE = ("An attempt that fails the done check or the verify command never beats one that "
        "passes. Among those that pass: the judge's choice when a judge was asked for and "
        "answered validly; else the fewest predicted conflicts, then the lower cost, then "
        "the lower team number.")


@dataclass
class Outcome:
    """What the comparison decided, in words (sessions/teams.py decides)."""

    pick: str  # "audio.t2 (team 2), by the judge", or why there is none
    reason: str
    judge: list[str] = field(default_factory=list)  # the review, or why there is none
    notes: list[str] = field(default_factory=list)


def write(paths: FeaturePaths, feature: str, evidence: Evidence, outcome: Outcome) -> Path:
    target = paths.comparison(evidence.workstream)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = render.render("COMPARISON.md.j2", paths.root, feature=feature, evidence=evidence,
                         outcome=outcome, rule=RULE, facts=facts(evidence),
                         written_at=now().isoformat())
    write_atomic(target, text)
    return target


def facts(evidence: Evidence) -> list[tuple[str, list[str]]]:
    """The side-by-side table: one row per fact, one cell per team (markdown-safe)."""
    rows: list[tuple[str, list[str]]] = []
    command = f"verify `{evidence.verify_command}`" if evidence.verify_command else "verify"
    for label, cell in (
            ("approach", lambda a: a.approach or "-"),
            ("model", lambda a: a.model or "-"),
            ("session", lambda a: a.status),
            ("done check", _done),
            (command, _verify),
            ("tests (runner's count)", lambda a: str(a.verify.tests) if a.verify.tests else "-"),
            (f"merges onto {evidence.target}", lambda a: _onto(a, evidence.target)),
            ("conflicts with other workstreams", lambda a: _beside(a, evidence.target)),
            ("outside its files", lambda a: ", ".join(a.out_of_scope) or "none"),
            ("change", lambda a: f"{a.files} files, +{a.added} -{a.removed}"),
            ("test files touched", lambda a: str(len(a.tests_touched))),
            ("cost", lambda a: f"${a.cost_usd:.2f}"),
            ("time", lambda a: _clock(a.seconds)),
            ("turns", lambda a: str(a.turns)),
            ("branch", lambda a: f"{a.branch} @ {(a.tip or 'missing')[:10]}")):
        rows.append((label, [_cell(cell(a)) for a in evidence.attempts]))
    return rows


def _done(attempt: Attempt) -> str:
    return "passed" if attempt.done else f"failed: {attempt.why_not_done}"


def _verify(attempt: Attempt) -> str:
    verify = attempt.verify
    detail = f" ({verify.detail})" if verify.detail else ""
    return f"{verify.outcome}{detail}"


def _onto(attempt: Attempt, target: str) -> str:
    if attempt.unmergeable:
        return f"cannot merge: {attempt.unmergeable}"
    files = next((f for other, f in attempt.conflicts.items() if other == target), None)
    return f"conflicts on {', '.join(files)}" if files else "cleanly"


def _beside(attempt: Attempt, target: str) -> str:
    others = {o: f for o, f in attempt.conflicts.items() if o != target}
    return "; ".join(f"{o} on {', '.join(f)}" for o, f in others.items()) or "none"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("\\", "\\\\").replace("|", "\\|") or "-"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m{secs:02d}s"
