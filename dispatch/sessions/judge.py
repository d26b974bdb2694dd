"""The judge: a fresh headless Claude session that reads the competing attempts' diffs and
RESULTS.md and answers in a fixed shape, {winner, reasons, risks}.

It is run as `claude -p --output-format json --json-schema <schema> --tools ""`: the pinned
CLI (2.1.197) offers the model a `StructuredOutput` tool with that schema, validates its
input and returns it as `structured_output` (the `result` text holds the same JSON). With no
other tool it can read nothing but what it is given. An answer that is missing, not that
shape, or a failed run is "no judgement": the pick rule goes on without it.

Its cost is booked like a session's (once per run, in sessions.json) and counts toward the
feature's budget; a run is recorded before it starts, so a comparison killed half-way
neither loses the cost nor runs a second judge while the first is still working.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from dispatch.core import files, procs, render
from dispatch.gitops import history
from dispatch.integration.compare import Evidence
from dispatch.sessions import launch, run_result, scheduler
from dispatch.sessions.run_result import RunFiles
from dispatch.state.model import FeatureState
from dispatch.state.paths import FeaturePaths
from dispatch.state.picks import JudgeRecord
from dispatch.state.plan import DEFAULT_AGENT
from dispatch.state.store import StateStore

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "winner": {"type": "integer", "minimum": 1,
                   "description": "the team number of the attempt to keep"},
        "reasons": {"type": "array", "items": {"type": "string"}},
        "risks": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["winner", "reasons", "risks"],
    "additionalProperties": False,
}
TIMEOUT = 15 * 60.0
PROMPT_LIMIT = 100_000  # characters: one argv string must stay under Linux's 128 KiB
RESULTS_LIMIT = 6_000  # of each team's RESULTS.md
ANSWER_LIMIT = 4 * 1024 * 1024
_SAID = 10  # reasons and risks kept, each at most _SAID_CHARS long
_SAID_CHARS = 500


@dataclass
class Verdict:
    winner: int | None = None
    reasons: list[str] = field(default_factory=list)
    risks: list[str] = field(default_factory=list)
    problem: str | None = None  # set: no judgement, and why

    @classmethod
    def of(cls, record: JudgeRecord) -> Verdict:
        return cls(record.winner, record.reasons, record.risks, record.problem)


def review(paths: FeaturePaths, store: StateStore, workstream: str, evidence: Evidence,
           seen: str) -> Verdict:
    """The judge's verdict on these attempts (`seen`: their fingerprint): the one already
    recorded for them, else the answer of the run left by a comparison that was cut short,
    else a new run's."""
    state = store.load()
    judge = state.teams[workstream].judge
    if judge.fingerprint == seen and judge.attempts and judge.booked_attempt == judge.attempts \
            and (judge.winner is not None or judge.problem is not None):
        return Verdict.of(judge)
    if judge.attempts > judge.booked_attempt:  # started by a comparison that died
        verdict = _finish(paths, store, workstream, judge, len(evidence.attempts))
        if verdict is not None and judge.fingerprint == seen:
            return verdict
    why_not = _why_not_run(store.load())
    if why_not:
        return _record(store, workstream, seen, Verdict(problem=why_not))
    return _run(paths, store, workstream, evidence, seen)


def _why_not_run(state: FeatureState) -> str | None:
    assert state.run is not None
    if state.run.worker == "rehearsal":
        return "a rehearsal runs no judge session"
    if state.run.halted:
        return f"sessions are halted ({state.run.halted})"
    return scheduler.over_budget(state) or None


def _run(paths: FeaturePaths, store: StateStore, workstream: str, evidence: Evidence,
         seen: str) -> Verdict:
    state = store.update(partial(_claim, workstream=workstream, seen=seen))
    judge = state.teams[workstream].judge
    assert state.run is not None and judge.session_id is not None
    agent = DEFAULT_AGENT.overlay(state.plan.agent).overlay(state.run.agent)
    argv = command(state.run.claude, judge.session_id, agent.model,
                   prompt(paths, state, evidence), agent.max_budget_usd)
    run = judge_files(paths, workstream, judge.attempts)
    paths.compare.mkdir(parents=True, exist_ok=True)
    env = launch.base_env(state.feature, f"{workstream}.judge", {})
    try:
        popen = launch.spawn(argv, paths.compare, env, run)
    except OSError as exc:
        verdict = Verdict(problem=f"the judge could not start ({exc.strerror or exc})")
        store.update(partial(_book, workstream=workstream, attempt=judge.attempts,
                             seen=seen, verdict=verdict, outcome=None))
        return verdict
    store.update(partial(_set_pid, workstream=workstream, pid=popen.pid))
    code = _wait(popen.pid, popen)
    return _read(paths, store, workstream, judge.attempts, code, len(evidence.attempts), seen)


def _finish(paths: FeaturePaths, store: StateStore, workstream: str, judge: JudgeRecord,
            teams: int) -> Verdict | None:
    """Wait for (or read) a judge run that was started but never booked. Its process is
    found by its session id when the comparison died before recording its pid. A run that
    left no answer at all (it never started, or was killed) is booked as such and None is
    returned: a new judge runs."""
    pid = judge.pid if judge.pid is not None and procs.is_alive(judge.pid, judge.pid_started) \
        else None
    if pid is None and judge.session_id:
        pid = launch.find_session_process(judge.session_id)
    if pid is not None:
        _wait(pid, None)
    outcome = run_result.outcome_of(0, judge_files(paths, workstream, judge.attempts))
    if outcome.kind not in ("success", "error"):
        store.update(partial(_book_lost, workstream=workstream, attempt=judge.attempts))
        return None
    return _read(paths, store, workstream, judge.attempts, None, teams,
                 judge.fingerprint or "")


def _book_lost(state: FeatureState, workstream: str, attempt: int) -> None:
    judge = state.teams[workstream].judge
    judge.booked_attempt = max(judge.booked_attempt, attempt)
    judge.pid = judge.pid_started = None


def _wait(pid: int, popen: subprocess.Popen[bytes] | None) -> int | None:
    deadline = time.monotonic() + TIMEOUT
    while (popen.poll() is None) if popen is not None else procs.is_alive(pid, None):
        if time.monotonic() > deadline:
            procs.stop_group(pid)
            return None
        time.sleep(0.2)
    return popen.returncode if popen is not None else None


def _read(paths: FeaturePaths, store: StateStore, workstream: str, attempt: int,
          code: int | None, teams: int, seen: str) -> Verdict:
    run = judge_files(paths, workstream, attempt)
    outcome = run_result.outcome_of(0 if code is None else code, run)
    if outcome.kind == "success":
        verdict = read_verdict(files.read_bytes(run.stdout, ANSWER_LIMIT), teams)
    else:
        verdict = Verdict(problem=f"the judge session did not answer ({outcome.message})")
    store.update(partial(_book, workstream=workstream, attempt=attempt, seen=seen,
                         verdict=verdict, outcome=outcome))
    return verdict


def read_verdict(stdout: bytes, teams: int) -> Verdict:
    """The judge's answer: `structured_output` (what --json-schema returns), else JSON in
    its result text; anything else, or a winner that is no team, is no judgement."""
    data = _result(stdout)
    answer = data.get("structured_output") if data else None
    if answer is None and data and isinstance(data.get("result"), str):
        answer = _json(data["result"].strip().removeprefix("```json").strip("`\n "))
    if not isinstance(answer, dict):
        return Verdict(problem="its answer held no JSON object {winner, reasons, risks}")
    winner, reasons, risks = (answer.get(k) for k in ("winner", "reasons", "risks"))
    if isinstance(winner, bool) or not isinstance(winner, int) or not 1 <= winner <= teams:
        return Verdict(problem=f"its winner {str(winner)[:20]!r} is not a team number from 1 "
                               f"to {teams}")
    if not isinstance(reasons, list) or not isinstance(risks, list) or \
            not _strings(reasons) or not _strings(risks):
        return Verdict(problem="its reasons and risks were not lists of text")
    return Verdict(winner, _kept(reasons), _kept(risks))


def _result(stdout: bytes) -> dict[str, Any] | None:
    for text in (stdout.decode("utf-8", "replace"),
                 *stdout.decode("utf-8", "replace").strip().splitlines()[-1:]):
        data = _json(text.strip())
        if isinstance(data, dict) and data.get("type") == "result":
            return data
    return None


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _kept(items: list[str]) -> list[str]:
    return [" ".join(item.split())[:_SAID_CHARS] for item in items[:_SAID]]


def command(program: list[str], session_id: str, model: str | None, text: str,
            max_budget_usd: float | None) -> list[str]:
    """The judge's command line. `--tools ""` leaves it no tool but StructuredOutput; `--`
    keeps that variadic option from taking the prompt."""
    args = [*program, "-p", "--output-format", "json", "--session-id", session_id]
    if model:
        args += ["--model", model]
    args += ["--json-schema", json.dumps(SCHEMA, separators=(",", ":"))]
    if max_budget_usd is not None:
        args += ["--max-budget-usd", f"{max_budget_usd:g}"]
    return [*args, "--tools", "", "--", text]


def prompt(paths: FeaturePaths, state: FeatureState, evidence: Evidence) -> str:
    """What the judge reads: the workstream, the measured facts, each RESULTS.md and diff
    (cut to fit one command-line argument)."""
    from dispatch.integration.compare_doc import facts

    share = (PROMPT_LIMIT - 20_000) // max(len(evidence.attempts), 1)
    diffs = {a.name: _cut(history.diff_text(paths.root, a.start, a.tip), share)
             if a.tip and a.files else "" for a in evidence.attempts}
    text = render.render("judge_prompt.md.j2", paths.root, feature=state.feature,
                         ws=state.plan.workstream(evidence.workstream), evidence=evidence,
                         facts=facts(evidence), diffs=diffs,
                         results={a.name: _cut(a.results or "", RESULTS_LIMIT)
                                  for a in evidence.attempts})
    return _cut(text, PROMPT_LIMIT)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else \
        f"{text[:limit]}\n[... cut: {len(text) - limit} more characters]"


def judge_files(paths: FeaturePaths, workstream: str, attempt: int) -> RunFiles:
    stem = paths.logs / f"{workstream}.judge.{attempt}"
    return RunFiles(stem.with_name(stem.name + ".json"), stem.with_name(stem.name + ".stderr"))


def _claim(state: FeatureState, workstream: str, seen: str) -> FeatureState:
    judge = state.teams[workstream].judge
    judge.attempts += 1
    judge.session_id = launch.new_session_id()  # a fresh session each time: never resumed
    judge.pid = judge.pid_started = None
    judge.fingerprint = seen
    return state


def _set_pid(state: FeatureState, workstream: str, pid: int) -> None:
    judge = state.teams[workstream].judge
    judge.pid, judge.pid_started = pid, procs.start_time(pid)


def _book(state: FeatureState, workstream: str, attempt: int, seen: str, verdict: Verdict,
          outcome: run_result.RunOutcome | None) -> None:
    judge = state.teams[workstream].judge
    if attempt <= judge.booked_attempt:
        return  # booked already (by a comparison that raced this one): once only
    judge.booked_attempt = attempt
    judge.pid = judge.pid_started = None
    if outcome is not None:
        judge.total_cost_usd = round(judge.total_cost_usd + outcome.cost_usd, 6)
        judge.num_turns += outcome.num_turns
        judge.duration_ms += outcome.duration_ms
    _set_verdict(judge, seen, verdict)
    judge.log = None


def _record(store: StateStore, workstream: str, seen: str, verdict: Verdict) -> Verdict:
    store.update(partial(_record_verdict, workstream=workstream, seen=seen, verdict=verdict))
    return verdict


def _record_verdict(state: FeatureState, workstream: str, seen: str, verdict: Verdict) -> None:
    _set_verdict(state.teams[workstream].judge, seen, verdict)


def _set_verdict(judge: JudgeRecord, seen: str, verdict: Verdict) -> None:
    judge.fingerprint = seen
    judge.winner, judge.reasons, judge.risks = verdict.winner, verdict.reasons, verdict.risks
    judge.problem = verdict.problem
