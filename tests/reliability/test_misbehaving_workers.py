"""The misbehaving-worker campaign (issue 17): 60 seeded runs of a 4-workstream feature in
which one or two workers misbehave (tests/support/misbehaviours/: 75 ways, from a detached
HEAD to a NaN cost, a replaced .git or a child left running), each through `dispatch start
--wait`, `dispatch integrate` and `dispatch clean` (without --force), with every check of
tests/support/campaign_checks.py after it. The test id holds the seed and the misbehaviours
(`*`: on every run, not only the first); tests/reliability/conftest.py prints the
misbehaviours x outcomes table at the end. A trial whose every problem is a known bug
(tests/support/known_bugs.py) is an expected failure; any other problem fails it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support import campaign_checks as checks
from tests.support.campaign import START_ARGS, Scene, Trial, set_up, trials
from tests.support.crash import FEATURE
from tests.support.known_bugs import explain
from tests.support.reach import tips


def step(scene: Scene, name: str, *args: str) -> list[str]:
    ran = scene.dispatch(name, *args)
    problems = checks.command_problems(name, ran)
    scene.record(name)
    return problems + checks.state_problems(scene, name)


def outcomes(scene: Scene, integrated: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per misbehaving workstream: its status after start, its merge, whether clean took
    its worktree (`integrated`: sessions.json after integrate)."""
    records = integrated.get("workstreams") or {}
    merges = (integrated.get("integration") or {}).get("merges") or {}
    found = {}
    for ws, (name, every) in scene.trial.workers.items():
        kept = (scene.feature_dir / ws).exists()
        found[ws] = {"misbehaviour": name, "every_run": every,
                     "status": (records.get(ws) or {}).get("status", "-"),
                     "merge": (merges.get(ws) or {}).get("status", "-"),
                     "clean": "kept" if kept else "removed"}
    return found


@dataclass
class Outcome:
    scene: Scene
    problems: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    integrated: dict[str, Any] = field(default_factory=dict)  # sessions.json before clean


def run_trial(trial: Trial, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Outcome:
    """start --wait, status, integrate, clean, and every check (leftovers killed after)."""
    scene = set_up(tmp_path, trial, monkeypatch)
    outcome = Outcome(scene)
    problems = outcome.problems
    before = checks.main_files(scene.repo)
    scene.record("before start")
    try:
        problems += step(scene, "start", *START_ARGS)
        problems += checks.command_problems("status", scene.status(FEATURE))
        problems += step(scene, "integrate", "integrate")
        problems += checks.integration_problems(scene)
        outcome.integrated = checks.raw_state(scene)
        problems += checks.supervisor_problems(scene, outcome.integrated)
        before_clean = tips(scene.repo)
        problems += step(scene, "clean", "clean")
        problems += checks.half_done(scene, scene.runs[-1], before_clean)
        problems += checks.lost_commits(scene)
        problems += checks.file_problems(scene, before)
        left, outcome.findings = checks.process_problems(scene)
        problems += left
    finally:
        checks.kill_leftovers(scene)
    return outcome


@pytest.mark.parametrize("trial", [pytest.param(t, id=t.id) for t in trials()])
def test_misbehaving_workers(trial: Trial, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                             record_property: Any) -> None:
    started = time.monotonic()
    outcome = run_trial(trial, tmp_path, monkeypatch)
    scene = outcome.scene
    known = explain(outcome.problems)
    record_property("campaign", json.dumps({
        "id": trial.id, "workers": outcomes(scene, outcome.integrated),
        "problems": [f"{p} [known: {known[p]}]" if p in known else p
                     for p in outcome.problems],
        "findings": outcome.findings, "seconds": round(time.monotonic() - started, 1),
        "commands": scene.seconds}))
    unknown = [p for p in outcome.problems if p not in known]
    with scene.evidence.printed_on_failure():
        assert not unknown, "\n".join(unknown)
    if known:
        pytest.xfail("known bugs: " + ", ".join(sorted(set(known.values()))))
