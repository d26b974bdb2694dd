"""`dispatch compare WS`: compare a workstream's competing teams now, in the foreground (the
supervisor does it by itself once every team has ended), write compare/<ws>.md and show the
facts side by side."""

from __future__ import annotations

from typing import Any

from dispatch.core.errors import DispatchError
from dispatch.core.table import Column, Table
from dispatch.integration import compare_doc
from dispatch.integration.compare import Progress
from dispatch.sessions import teams
from dispatch.state import picks
from dispatch.state.paths import FeaturePaths
from dispatch.state.store import StateStore


def compare(paths: FeaturePaths, workstream: str, *, judge: bool | None = None,
            progress: Progress = lambda _m: None) -> teams.Compared:
    """Refused while a team is still at work: its evidence would be half of it."""
    state = StateStore(paths).load()
    if workstream not in state.teams:
        raise DispatchError(f"workstream '{workstream}' of '{state.feature}' is not run by "
                            f"teams ({teams.teamed_names(state)})")
    working = [n for n in state.teams[workstream].attempts
               if n in state.workstreams and state.workstreams[n].status in picks.ACTIVE]
    if working:
        raise DispatchError(f"{', '.join(working)} of {workstream} still at work: compare "
                            "when every team has ended (the supervisor then does it by "
                            f"itself), or stop them first ('dispatch stop {working[0]}')")
    return teams.run_comparison(paths, workstream, use_judge=judge, progress=progress)


COLUMNS = [Column("fact"), Column("teams", wide=True)]


def compare_table(compared: teams.Compared) -> Table:
    """One row per fact; the teams' values side by side in one cell (`t1: … · t2: …`), so
    that an 80-column terminal and a plain line read alike."""
    evidence = compared.evidence
    team = compared.state.teams[evidence.workstream]
    table = Table(f"Competing teams of {evidence.workstream}", COLUMNS,
                  footer=_footer(compared, team.picked, team.reason))
    for label, cells in compare_doc.facts(evidence):
        table.add(label, " · ".join(f"t{a.team}: {cell}" for a, cell in
                                    zip(evidence.attempts, cells, strict=True)))
    return table


def _footer(compared: teams.Compared, picked: str | None, reason: str | None) -> list[str]:
    verdict = compared.verdict
    lines = [f"pick: {picked or 'none'} — {reason or '-'}"]
    if verdict is not None:
        lines.append(f"judge: no judgement ({verdict.problem})" if verdict.problem else
                     f"judge: team {verdict.winner}")
    lines.append(f"comparison: {compared.document}")
    return lines


def compare_json(compared: teams.Compared) -> dict[str, Any]:
    evidence = compared.evidence
    team = compared.state.teams[evidence.workstream]
    verdict = compared.verdict
    return {
        "workstream": evidence.workstream, "document": compared.document,
        "measured_against": evidence.target, "verify": evidence.verify_command,
        "picked": team.picked, "picked_by": team.picked_by, "reason": team.reason,
        "ranking": compared.choice.ranking,
        "judge": None if verdict is None else {
            "winner": verdict.winner, "reasons": verdict.reasons, "risks": verdict.risks,
            "problem": verdict.problem},
        "attempts": [{
            "name": a.name, "team": a.team, "branch": a.branch, "tip": a.tip,
            "status": a.status, "approach": a.approach, "model": a.model,
            "done": a.done, "verify": a.verify.outcome, "passes": a.passes,
            "tests_passed": a.verify.tests.passed if a.verify.tests else None,
            "tests_failed": a.verify.tests.failed if a.verify.tests else None,
            "conflicts": a.conflicts, "unmergeable": a.unmergeable,
            "out_of_scope": a.out_of_scope, "files": a.files, "added": a.added,
            "removed": a.removed, "tests_touched": a.tests_touched, "cost_usd": a.cost_usd,
            "seconds": a.seconds} for a in evidence.attempts],
    }
