"""Competing teams: when every team of a workstream has ended, compare their attempts on
evidence and pick the one the rest of the feature builds on.

The pick rule is deterministic (README: Competing teams): an attempt that fails the done
check or verify never beats one that passes; among those that pass, the judge's choice when
a judge was asked for and answered validly, else the fewest predicted conflicts, then the
lower cost, then the lower team number. No attempt passing means no pick: a person decides
(`dispatch pick`), or resumes an attempt, after which the teams are compared again.

The supervisor starts comparisons in the background (`Comparisons.tick`); `dispatch compare`
runs one in the foreground. One comparison per workstream at a time (a lock), and its pick is
recorded only if the attempts did not change while it ran.
"""

from __future__ import annotations

import sys
import threading
import traceback
from dataclasses import dataclass
from functools import partial

from dispatch.core.errors import BusyError, DispatchError
from dispatch.integration import compare, compare_doc
from dispatch.sessions import judge, launch
from dispatch.state import picks
from dispatch.state.locks import FileLock, holder_if_locked
from dispatch.state.model import FeatureState, now
from dispatch.state.paths import FeaturePaths
from dispatch.state.picks import PickedBy
from dispatch.state.store import StateStore


@dataclass(frozen=True)
class Standing:
    """What the rule looks at, per attempt."""

    name: str
    team: int
    passes: bool
    conflicts: int
    cost: float


@dataclass(frozen=True)
class Choice:
    picked: str | None
    by: PickedBy | None
    reason: str
    ranking: list[str]


def choose(standings: list[Standing], verdict: judge.Verdict | None) -> Choice:
    """The pick rule (pure)."""
    order = sorted(standings, key=lambda s: (not s.passes, s.conflicts, s.cost, s.team))
    ranking = [s.name for s in order]
    passing = [s for s in order if s.passes]
    if not passing:
        return Choice(None, None, "no team passed the done check and the verify command; "
                      "resume one (dispatch resume <attempt>) or pick one (dispatch pick "
                      "<workstream> N)", ranking)
    chosen = verdict.winner if verdict is not None and verdict.problem is None else None
    by_judge = next((s for s in passing if s.team == chosen), None)
    if by_judge is not None:
        return Choice(by_judge.name, "judge", "chosen by the judge among the attempts that "
                      "pass" + (f": {verdict.reasons[0]}" if verdict and verdict.reasons else ""),
                      ranking)
    best = passing[0]
    return Choice(best.name, "rule", _why(best, passing, len(standings)), ranking)


def _why(best: Standing, passing: list[Standing], total: int) -> str:
    if len(passing) == 1:
        return "the only team that passes the done check and verify" if total > 1 else \
            "it passes the done check and verify"
    second = passing[1]
    if best.conflicts != second.conflicts:
        return f"passes, with fewer predicted conflicts ({best.conflicts} against " \
            f"{second.conflicts})"
    if best.cost != second.cost:
        return f"passes, as few conflicts, lower cost (${best.cost:.2f} against " \
            f"${second.cost:.2f})"
    return "passes; same conflicts and cost as another: the lower team number"


def standings(evidence: compare.Evidence) -> list[Standing]:
    return [Standing(a.name, a.team, a.passes, a.conflict_count, a.cost_usd)
            for a in evidence.attempts]


def wants_judge(state: FeatureState, workstream: str) -> bool:
    teams = state.plan.workstream(workstream).teams
    if teams is not None and teams.judge is not None:
        return teams.judge
    return bool(state.plan.judge)


@dataclass
class Compared:
    evidence: compare.Evidence
    choice: Choice
    verdict: judge.Verdict | None
    document: str  # relative to the repository root
    state: FeatureState  # after the record


def run_comparison(paths: FeaturePaths, workstream: str, *, use_judge: bool | None = None,
                   progress: compare.Progress = lambda _m: None) -> Compared:
    """Compare the teams of `workstream` now, write the comparison, and record it; the pick
    too, unless it is settled (see `_settled`)."""
    lock = FileLock(paths.lock(f"compare-{workstream}"))
    if not lock.acquire(timeout=1.0):  # (a moment: a probe of the lock holds it an instant)
        raise BusyError(f"the teams of {workstream} are being compared already (pid "
                        f"{lock.holder()}); wait for it, then 'dispatch status'")
    try:
        return _compare(paths, workstream, use_judge, progress)
    finally:
        lock.release()


def _compare(paths: FeaturePaths, workstream: str, use_judge: bool | None,
             progress: compare.Progress) -> Compared:
    store = StateStore(paths)
    state = store.load()
    if workstream not in state.teams:
        raise DispatchError(f"workstream '{workstream}' of '{state.feature}' is not run by "
                            f"teams ({teamed_names(state)})")
    seen = picks.fingerprint(state, workstream)
    evidence = compare.gather(paths, state, workstream,
                              lambda record: launch.session_env(record, state.feature), progress)
    verdict = _verdict(paths, store, workstream, evidence, seen,
                       wants_judge(state, workstream) if use_judge is None else use_judge)
    choice = choose(standings(evidence), verdict)
    current = store.load()
    outcome = _outcome(current, workstream, choice, verdict)
    document = compare_doc.write(paths, state.feature, evidence, outcome)
    final = store.update(partial(_record, workstream=workstream, seen=seen, choice=choice,
                                 document=paths.relative(document)))
    return Compared(evidence, choice, verdict, paths.relative(document), final)


def _verdict(paths: FeaturePaths, store: StateStore, workstream: str,
             evidence: compare.Evidence, seen: str, asked: bool) -> judge.Verdict | None:
    if not asked:
        return None
    passing = [a for a in evidence.attempts if a.passes]
    if len(passing) < 2:
        return judge.Verdict(problem=f"not run, as {len(passing)} attempt(s) pass: nothing "
                                     "to choose between")
    return judge.review(paths, store, workstream, evidence, seen)


def teamed_names(state: FeatureState) -> str:
    names = ", ".join(state.teams)
    return f"these are: {names}" if names else "none is; run one with 'dispatch start SPEC " \
        "--teams <workstream>=2'"


def _outcome(state: FeatureState, workstream: str, choice: Choice,
             verdict: judge.Verdict | None) -> compare_doc.Outcome:
    team = state.teams[workstream]
    settled = _settled(state, workstream)
    if settled and team.picked is not None and team.picked != choice.picked:
        pick = f"{team.picked} (kept: {settled})"
        notes = [f"the rule now prefers {choice.picked or 'none'} ({choice.reason}); to "
                 f"change: dispatch pick {workstream} "
                 f"{team.team_of(choice.picked) if choice.picked else 'N'}"]
        return compare_doc.Outcome(pick, team.reason or "", _judge_lines(verdict), notes)
    if choice.picked is None:
        return compare_doc.Outcome("none", choice.reason, _judge_lines(verdict))
    by = "by the judge" if choice.by == "judge" else "by the rule"
    return compare_doc.Outcome(f"{choice.picked} (team {team.team_of(choice.picked)}), {by}",
                               choice.reason, _judge_lines(verdict))


def _judge_lines(verdict: judge.Verdict | None) -> list[str]:
    if verdict is None:
        return []
    if verdict.problem is not None:
        return [f"No judgement: {verdict.problem}."]
    return [f"Winner: team {verdict.winner}.", "", "Reasons:",
            *[f"- {r}" for r in verdict.reasons], "", "Risks:",
            *[f"- {r}" for r in verdict.risks]]


def _settled(state: FeatureState, workstream: str) -> str:
    """Why the current pick must not change by itself ("" when it may): a person chose it,
    it is in the integration branch, or a dependant builds on it already."""
    team = state.teams[workstream]
    if team.picked is None:
        return ""
    if team.picked_by == "person":
        return "picked by a person"
    merged = state.integration.merges.get(team.picked) if state.integration else None
    if merged is not None and merged.status == "merged":
        return "already integrated"
    building = [n for n, r in state.workstreams.items() if workstream in r.deps_merged]
    return f"{', '.join(building)} already build on it" if building else ""


def _record(state: FeatureState, workstream: str, seen: str, choice: Choice,
            document: str) -> FeatureState:
    team = state.teams[workstream]
    team.compared, team.compared_at, team.comparison = seen, now(), document
    team.ranking = choice.ranking
    changed = picks.fingerprint(state, workstream) != seen  # resumed while being compared
    if not changed and not _settled(state, workstream):
        team.picked, team.picked_by, team.reason = choice.picked, choice.by, choice.reason
    return state


def set_pick(state: FeatureState, workstream: str, attempt: str, by: PickedBy,
             reason: str) -> None:
    team = state.teams[workstream]
    team.picked, team.picked_by, team.reason = attempt, by, reason


class Comparisons:
    """The supervisor's side: start a comparison in the background for each workstream
    whose teams have all ended (sessions keep being reaped meanwhile)."""

    def __init__(self, paths: FeaturePaths) -> None:
        self.paths = paths
        self.threads: dict[str, threading.Thread] = {}

    @property
    def busy(self) -> set[str]:
        return {name for name, thread in self.threads.items() if thread.is_alive()}

    def tick(self, state: FeatureState) -> None:
        for name in [n for n, t in self.threads.items() if not t.is_alive()]:
            del self.threads[name]
        for workstream in state.teams:
            if workstream in self.threads or not picks.comparison_due(state, workstream):
                continue
            if holder_if_locked(self.paths.lock(f"compare-{workstream}")) is not None:
                continue  # `dispatch compare` is at it
            thread = threading.Thread(target=self._compare, args=(workstream,), daemon=True,
                                      name=f"compare-{workstream}")
            self.threads[workstream] = thread
            thread.start()

    def _compare(self, workstream: str) -> None:
        try:
            run_comparison(self.paths, workstream)
        except BusyError:
            return  # another comparison took the lock first: it records the result
        except Exception as exc:  # recorded, so that it is not retried at every tick
            print(f"[{now().isoformat()}] comparing {workstream} failed:\n"
                  f"{traceback.format_exc()}", file=sys.stderr, flush=True)
            StateStore(self.paths).update(partial(_failed, workstream=workstream, exc=exc))


def _failed(state: FeatureState, workstream: str, exc: Exception) -> None:
    team = state.teams[workstream]
    team.compared = picks.fingerprint(state, workstream)
    team.reason = (f"the comparison failed ({type(exc).__name__}: {exc}); see the supervisor "
                   f"log, then 'dispatch compare {workstream}'")
