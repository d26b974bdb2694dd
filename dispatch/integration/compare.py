"""The evidence on which a workstream's competing teams are compared: what can be measured
about each attempt — the done check, the verify command (and its test counts), whether it
merges cleanly onto the integration branch and beside the other workstreams (git merge-tree,
as `dispatch check` does), files outside its scope, the size of its change, tests it touched,
cost and time. Nothing here judges; `sessions/teams.py` picks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from dispatch.core import files
from dispatch.gitops import history, refs
from dispatch.integration import candidate, conflicts, own_work, report
from dispatch.state.model import FeatureState, SessionRecord
from dispatch.state.paths import FeaturePaths
from dispatch.state.plan import DEFAULT_AGENT
from dispatch.workspace.verify import run_verify

Progress = Callable[[str], None]
EnvFor = Callable[[SessionRecord], dict[str, str]]
# A changed file that is a test, in the layouts of the common runners.
_TEST_FILE = re.compile(r"(^|/)(tests?|spec|__tests__)/|(^|/)test_[^/]*\.py$|_test\.(py|go)$|"
                        r"\.(test|spec)\.[cm]?[jt]sx?$")
_COUNT = re.compile(r"\b(\d+) (passed|failed|errors?)\b")
_UNITTEST_RAN = re.compile(r"^Ran (\d+) tests? in ", re.M)
_UNITTEST_FAILED = re.compile(r"^FAILED \((.*)\)$", re.M)
LOG_LIMIT = 2 * 1024 * 1024  # of a verify log read for its counts (its end matters)


@dataclass(frozen=True)
class Tally:
    passed: int
    failed: int

    def __str__(self) -> str:
        return f"{self.passed} passed" + (f", {self.failed} failed" if self.failed else "")


def tally(text: str) -> Tally | None:
    """Counts from a test runner's summary: pytest's `3 passed, 1 failed`, jest's and
    vitest's `Tests: 1 failed, 3 passed`, unittest's `Ran 4 tests` / `FAILED (failures=1)`.
    The last summary line wins; None when the output has none."""
    lines = [line for line in text.splitlines() if _COUNT.search(line)]
    if lines:
        found = {kind.rstrip("s"): int(n) for n, kind in _COUNT.findall(lines[-1])}
        return Tally(found.get("passed", 0), found.get("failed", 0) + found.get("error", 0))
    ran = _UNITTEST_RAN.findall(text)
    if not ran:
        return None
    failed = _UNITTEST_FAILED.findall(text)
    bad = sum(int(n) for n in re.findall(r"=(\d+)", failed[-1])) if failed else 0
    return Tally(int(ran[-1]) - bad, bad)


@dataclass
class Verification:
    outcome: str  # "passed", "failed", "not run", or "none" (no verify command)
    detail: str = ""
    log: str | None = None  # relative to the repository root
    tests: Tally | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in ("passed", "none")


@dataclass
class Attempt:
    """One team's attempt, measured."""

    name: str
    team: int
    branch: str
    status: str
    approach: str | None
    model: str | None
    tip: str | None
    done: bool  # the done check passed (its record is `done`)
    why_not_done: str | None
    verify: Verification
    conflicts: dict[str, list[str]] = field(default_factory=dict)  # with what -> files
    unmergeable: str | None = None
    out_of_scope: list[str] = field(default_factory=list)
    files: int = 0
    added: int = 0
    removed: int = 0
    tests_touched: list[str] = field(default_factory=list)
    cost_usd: float = 0.0
    seconds: float = 0.0
    turns: int = 0
    results: str | None = None
    diffstat: str = ""
    start: str = ""  # where its own work begins (the base, or after its dependencies)

    @property
    def passes(self) -> bool:
        """The done check and the verify command both pass: the first rule of the pick."""
        return self.done and self.verify.ok

    @property
    def conflict_count(self) -> int:
        return len(self.conflicts) + (1 if self.unmergeable else 0)


@dataclass
class Evidence:
    workstream: str
    target: str  # what "merges cleanly" was measured against, for people
    verify_command: str | None
    attempts: list[Attempt]


def gather(paths: FeaturePaths, state: FeatureState, workstream: str, env_for: EnvFor,
           progress: Progress = lambda _m: None) -> Evidence:
    team = state.teams[workstream]
    records = [state.workstreams[n] for n in team.attempts if n in state.workstreams]
    tips = refs.branch_tips(paths.root)
    command = state.plan.workstream(workstream).verify or state.plan.verify
    attempts = [_measure(paths, state, record, tips.get(record.branch), command, env_for,
                         progress) for record in records]
    target = _conflicts(paths, state, workstream, attempts, tips)
    return Evidence(workstream, target, command, attempts)


def _measure(paths: FeaturePaths, state: FeatureState, record: SessionRecord,
             tip: str | None, command: str | None, env_for: EnvFor,
             progress: Progress) -> Attempt:
    ws = state.plan.workstream(record.name)
    agent = DEFAULT_AGENT.overlay(state.plan.agent).overlay(ws.agent)
    if state.run is not None:
        agent = agent.overlay(state.run.agent)
    start = own_work.own_start(paths.root, state, record.name, tip) if tip else \
        record.start_commit or state.base
    attempt = Attempt(
        name=record.name, team=record.team or 0, branch=record.branch, status=record.status,
        approach=ws.approach, model=agent.model, tip=tip, done=record.status == "done",
        why_not_done=None if record.status == "done" else (record.error or record.status),
        verify=_verification(paths, record, (start, tip), command, env_for, progress),
        cost_usd=record.total_cost_usd, seconds=record.duration_ms / 1000,
        turns=record.num_turns, results=report.results_text(paths, record.name), start=start)
    if tip is not None and not refs.is_ancestor(paths.root, tip, start):
        attempt.files, attempt.added, attempt.removed = history.numstat(paths.root, start, tip)
        changed = history.changed_files(paths.root, start, tip)
        attempt.tests_touched = [f for f in changed if _TEST_FILE.search(f)]
        attempt.diffstat = history.diffstat(paths.root, start, tip)
    return attempt


def _verification(paths: FeaturePaths, record: SessionRecord, span: tuple[str, str | None],
                  command: str | None, env_for: EnvFor, progress: Progress) -> Verification:
    """The done check's verify result when it holds for this tip; else verify runs now in
    the attempt's worktree (its evidence must not be older than its branch). `span`: where
    its own work starts, and its tip."""
    start, tip = span
    if command is None:
        return Verification("none", "no verify command")
    checked = paths.logs / f"{record.name}.verify.log"
    if record.status == "done" and tip is not None and tip == record.tip:
        return Verification("passed", "by its done check", paths.relative(checked),
                            _counts(checked))
    worktree = paths.worktree(record.name)
    if tip is None or not (worktree / ".git").exists():
        return Verification("not run", "its branch or worktree is missing")
    if refs.is_ancestor(paths.root, tip, start):
        return Verification("not run", "no commits of its own")
    log = paths.logs / f"{record.name}.compare-verify.log"
    progress(f"verifying {record.name}: {command}")
    passed = run_verify(command, worktree, env_for(record), log)
    return Verification("passed" if passed else "failed", "run for the comparison",
                        paths.relative(log), _counts(log))


def _counts(log: Path) -> Tally | None:
    text = files.tail(log, LOG_LIMIT).decode("utf-8", errors="replace")
    return tally(text) if text else None


def _conflicts(paths: FeaturePaths, state: FeatureState, workstream: str,
               attempts: list[Attempt], tips: dict[str, str]) -> str:
    """Fill in each attempt's predicted conflicts; returns what they were measured against."""
    target_tip, label = _target(paths, state)
    rivals = set(state.teams[workstream].attempts)
    others = [name for name in state.names() if name not in rivals and _stays(state, name)]
    branches, unmergeable = [], {}
    for name in [a.name for a in attempts] + others:
        tip = tips.get(state.workstreams[name].branch)
        if tip is None:
            continue
        found = candidate.prepare(paths.root, state.base, tip)
        if found.problem is not None:
            unmergeable[name] = found.problem
            continue
        branches.append(conflicts.Branch(name, found.merge_tip, state.owned_files(name),
                                         own_work.own_start(paths.root, state, name, found.tip)))
    prediction = conflicts.predict(paths.root, state.base, target_tip, label, branches)
    for attempt in attempts:
        found_conflicts = prediction.conflicts_of(attempt.name)
        attempt.conflicts = {(label if other == "(base)" else other): names
                             for other, names in found_conflicts.items() if other not in rivals}
        attempt.unmergeable = unmergeable.get(attempt.name)
        attempt.out_of_scope = prediction.out_of_scope.get(attempt.name, [])
    return label


def _stays(state: FeatureState, name: str) -> bool:
    """Whether another record's branch is part of what the feature integrates: not an
    attempt of another team that was not picked (or has no pick yet)."""
    record = state.workstreams[name]
    if record.team_of is None or record.team_of not in state.teams:
        return True
    return state.teams[record.team_of].picked == name


def _target(paths: FeaturePaths, state: FeatureState) -> tuple[str, str]:
    """The integration branch when there is one, else the base as it is now."""
    if state.integration is not None:
        tip = refs.branch_commit(paths.root, state.integration.branch)
        if tip is not None:
            return tip, f"{state.integration.branch} @ {tip[:10]}"
    if state.base_ref:
        tip = refs.commit_of(paths.root, state.base_ref)
        if tip is not None:
            return tip, f"{state.base_ref} @ {tip[:10]}"
    return state.base, f"base @ {state.base[:10]}"
