"""Competing teams, the parts without git or sessions: the pick rule, teams in a spec and on
the command line, attempt names, test counts from runner output, the judge's answer, and
sessions.json files written before teams existed."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from dispatch.core.errors import DispatchError, SpecError
from dispatch.integration.compare import Tally, tally
from dispatch.sessions.judge import Verdict, read_verdict
from dispatch.sessions.teams import Standing, choose
from dispatch.spec.parse import parse_spec
from dispatch.spec.teams import parse_counts, with_counts
from dispatch.state import names
from dispatch.state.model import FeatureState
from dispatch.state.paths import FEATURE_ENTRIES
from dispatch.state.plan import Plan


def standing(team: int, passes: bool = True, conflicts: int = 0,
             cost: float = 1.0) -> Standing:
    return Standing(f"audio.t{team}", team, passes, conflicts, cost)


# --- the pick rule ----------------------------------------------------------------------

def test_an_attempt_that_fails_never_beats_one_that_passes() -> None:
    cheap_but_failing = standing(1, passes=False, conflicts=0, cost=0.1)
    costly = standing(2, conflicts=3, cost=9.0)
    choice = choose([cheap_but_failing, costly], None)
    assert (choice.picked, choice.by) == ("audio.t2", "rule")
    assert choice.ranking == ["audio.t2", "audio.t1"]
    judged = choose([cheap_but_failing, costly], Verdict(winner=1, reasons=["nicer"]))
    assert judged.picked == "audio.t2" and judged.by == "rule"  # the judge cannot lift it


def test_among_passing_attempts_the_judge_decides() -> None:
    choice = choose([standing(1), standing(2, conflicts=2)], Verdict(winner=2, reasons=["x"]))
    assert (choice.picked, choice.by) == ("audio.t2", "judge")
    assert choice.reason.endswith(": x")


def test_without_a_valid_judgement_fewer_conflicts_then_cost_then_team() -> None:
    no_judgement = Verdict(problem="its answer held no JSON object")
    assert choose([standing(1, conflicts=1), standing(2)], no_judgement).picked == "audio.t2"
    cheaper = choose([standing(1, cost=2.0), standing(2, cost=1.0)], None)
    assert cheaper.picked == "audio.t2" and "lower cost" in cheaper.reason
    tie = choose([standing(2), standing(1)], None)
    assert tie.picked == "audio.t1" and "lower team number" in tie.reason


def test_nothing_is_picked_when_no_attempt_passes() -> None:
    choice = choose([standing(1, passes=False), standing(2, passes=False)], Verdict(winner=1))
    assert choice.picked is None and choice.by is None
    assert "dispatch pick <workstream> N" in choice.reason


# --- teams in a spec --------------------------------------------------------------------

def parse(tmp_path: Path, text: str) -> Plan:
    path = tmp_path / "spec.md"
    path.write_text(textwrap.dedent(text))
    return parse_spec(path, display="spec.md")


def test_teams_and_approaches_fields_make_attempts(tmp_path: Path) -> None:
    plan = parse(tmp_path, """\
        # Duo
        ## Workstreams
        ### Workstream 1: Audio
        **Teams**: 2
        **Approaches**: PyAudio; sounddevice
        **Notes**: keep latency low
        - [ ] capture
        ### Workstream 2: Ui
        **Depends on**: audio
        - [ ] show
        """)
    audio = plan.workstream("audio")
    assert audio.teams is not None and audio.teams.approaches == ["PyAudio", "sounddevice"]
    assert audio.notes == ["Notes: keep latency low"]
    first, second = audio.attempts()
    assert (first.name, first.team, first.team_of, first.approach) == (
        "audio.t1", 1, "audio", "PyAudio")
    assert second.tasks == first.tasks == ["capture"] and second.depends_on == []
    assert plan.workstream("audio.t2") == second
    assert [ws.name for ws in plan.attempts()] == ["audio.t1", "audio.t2", "ui"]
    assert plan.sessions() == 3
    with pytest.raises(KeyError):
        plan.workstream("audio.t3")


def test_frontmatter_teams_with_models(tmp_path: Path) -> None:
    plan = parse(tmp_path, """\
        ---
        judge: true
        workstreams:
          audio: {teams: 2, approaches: [a, b], models: [sonnet, opus]}
        ---
        # Duo
        ## Workstreams
        ### Workstream 1: Audio
        - [ ] capture
        """)
    first, second = plan.workstream("audio").attempts()
    assert plan.judge is True
    assert (first.agent.model, second.agent.model) == ("sonnet", "opus")
    assert second.approach == "b"


def test_a_teams_note_that_is_not_a_number_stays_a_note(tmp_path: Path) -> None:
    plan = parse(tmp_path, """\
        # Solo
        ## Workstreams
        ### Workstream 1: Audio
        **Teams**: backend and platform
        - [ ] capture
        """)
    audio = plan.workstream("audio")
    assert audio.teams is None and audio.notes == ["Teams: backend and platform"]


@pytest.mark.parametrize(("fields", "message"), [
    ("**Teams**: 12\n", "asks for 12 teams; use 2 to 9"),
    ("**Teams**: 2\n**Approaches**: a; b; c\n", "has 2 teams but 3 approaches"),
    ("**Teams**: 1\n**Approaches**: a\n", "runs as one session; add '**Teams**: 2'"),
])
def test_teams_that_cannot_be_are_refused_at_their_line(tmp_path: Path, fields: str,
                                                         message: str) -> None:
    path = tmp_path / "spec.md"
    path.write_text(f"# X\n## Workstreams\n### Workstream 1: Audio\n{fields}- [ ] capture\n")
    with pytest.raises(SpecError) as caught:
        parse_spec(path, display="spec.md")
    assert message in caught.value.message and caught.value.line == 3


def test_teams_on_the_command_line(tmp_path: Path) -> None:
    plan = parse(tmp_path, """\
        # Duo
        ## Workstreams
        ### Workstream 1: Audio
        - [ ] capture
        ### Workstream 2: Web
        **Teams**: 3
        - [ ] page
        """)
    counts = parse_counts(["audio=2", "web=1"])
    changed = with_counts(plan, counts)
    assert [ws.name for ws in changed.attempts()] == ["audio.t1", "audio.t2", "web"]
    with pytest.raises(DispatchError, match="write WORKSTREAM=N"):
        parse_counts(["audio:2"])
    with pytest.raises(DispatchError, match="unknown workstream"):
        with_counts(plan, {"nope": 2})


# --- names -------------------------------------------------------------------------------

def test_attempt_names_are_refs_and_paths_no_workstream_can_take() -> None:
    for team in range(1, names.MAX_TEAMS + 1):
        name = names.attempt_name("audio-io", team)
        assert names.is_valid_ref_component(name)
        assert names.parse_attempt(name) == ("audio-io", team)
        assert names.WORKSTREAM_RE.fullmatch(name) is None  # a slug never holds a dot
        assert name not in FEATURE_ENTRIES
    assert names.parse_attempt("audio") is None and names.parse_attempt("audio.t0") is None


# --- test counts -------------------------------------------------------------------------

@pytest.mark.parametrize(("output", "expected"), [
    ("collected 5\n..F..\n=== 4 passed, 1 failed in 0.12s ===\n", Tally(4, 1)),
    ("==== 12 passed in 3.4s ====\n", Tally(12, 0)),
    ("Tests:       1 failed, 3 passed, 4 total\n", Tally(3, 1)),
    ("Ran 4 tests in 0.001s\n\nFAILED (failures=1, errors=1)\n", Tally(2, 2)),
    ("Ran 3 tests in 0.001s\n\nOK\n", Tally(3, 0)),
    ("make: nothing to be done\n", None),
])
def test_counts_from_test_runner_summaries(output: str, expected: Tally | None) -> None:
    assert tally(output) == expected


# --- the judge's answer ------------------------------------------------------------------

def result_line(**fields: object) -> bytes:
    return json.dumps({"type": "result", "subtype": "success", "is_error": False,
                       **fields}).encode()


def test_the_judges_answer_in_structured_output_or_in_its_text() -> None:
    answer = {"winner": 2, "reasons": ["r"], "risks": ["k"]}
    assert read_verdict(result_line(structured_output=answer, result=""), 2) == Verdict(
        2, ["r"], ["k"])
    fenced = "```json\n" + json.dumps(answer) + "\n```"
    assert read_verdict(result_line(result=fenced), 2).winner == 2


@pytest.mark.parametrize(("stdout", "problem"), [
    (result_line(result="team 2 is better"), "held no JSON object"),
    (result_line(structured_output={"winner": 3, "reasons": [], "risks": []}),
     "its winner '3' is not a team number from 1 to 2"),
    (result_line(structured_output={"winner": True, "reasons": [], "risks": []}),
     "is not a team number"),
    (result_line(structured_output={"winner": 1, "reasons": "short", "risks": []}),
     "were not lists of text"),
    (b"Segmentation fault\n", "held no JSON object"),
    (b"", "held no JSON object"),
])
def test_a_malformed_answer_is_no_judgement(stdout: bytes, problem: str) -> None:
    verdict = read_verdict(stdout, 2)
    assert verdict.winner is None and verdict.problem is not None and problem in verdict.problem


# --- sessions.json written before teams ---------------------------------------------------

def test_a_sessions_file_from_before_teams_still_reads() -> None:
    old = {"schema_version": 1, "feature": "x", "base": "0" * 40, "spec": "specs/x.md",
           "created_at": "2026-11-01T00:00:00+00:00",
           "plan": {"feature": "x", "title": "X", "spec": "specs/x.md", "workstreams": [
               {"name": "api", "title": "Api", "number": 1, "goal": "g", "line": 3,
                "raw": "### Workstream 1: Api"}]},
           "workstreams": {"api": {"name": "api", "branch": "x/api", "path": ".worktrees/x/api"}}}
    state = FeatureState.model_validate(old)
    assert state.teams == {} and state.workstreams["api"].team_of is None
    assert state.names() == ["api"] and state.total_cost() == 0.0
