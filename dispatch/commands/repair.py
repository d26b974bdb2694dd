"""`dispatch repair`: rebuild a lost or damaged sessions.json from git and the logs.

What survives outside sessions.json is enough: plan.json (or the spec), the branches and
their reflogs (each branch's first entry is the commit it was created from: the base), the
worktrees, the session output files in logs/ (session ids, cost, turns, last messages) and
each worktree's .env (its ports). A damaged file is kept beside the new one.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

from dispatch.core.errors import DispatchError
from dispatch.gitops import history, refs
from dispatch.sessions import run_result
from dispatch.state.model import FeatureState, IntegrationState, MergeRecord, SessionRecord
from dispatch.state.paths import FeaturePaths
from dispatch.state.picks import TeamRecord
from dispatch.state.plan import Plan
from dispatch.state.store import StateStore, write_atomic
from dispatch.workspace import ports, workfiles


def repair(paths: FeaturePaths, spec: Path | None, force: bool) -> FeatureState:
    store = StateStore(paths)
    if store.exists() and not force:
        try:
            store.load()
        except DispatchError:
            pass
        else:
            raise DispatchError(f"{paths.relative(paths.state_file)} is readable; nothing to "
                                "repair (pass --force to rebuild it anyway)")
    plan = _plan(paths, spec)
    branches = {ws.name: ws.branch or f"{plan.feature}/{ws.name}" for ws in plan.attempts()}
    base = _base(paths, list(branches.values()))
    state = FeatureState(feature=plan.feature, spec=plan.spec or None, base=base, plan=plan,
                         workstreams={name: _record(paths, name, branch, plan, base)
                                      for name, branch in branches.items()})
    _teams(state)
    _ports_without_env(paths, state)
    state.integration = _integration(paths, state)
    if paths.state_file.exists():
        stamp = time.strftime("%Y%m%d-%H%M%S")
        paths.state_file.rename(paths.dir / f"sessions.json.damaged-{stamp}")
    paths.dir.mkdir(parents=True, exist_ok=True)
    write_atomic(paths.state_file, state.model_dump_json(indent=2) + "\n")
    return state


def _teams(state: FeatureState) -> None:
    """Competing teams' attempts are records of their own; which one was picked is not
    recorded anywhere else: the teams are compared again (or picked by a person)."""
    for ws in state.plan.workstreams:
        if ws.teams is None:
            continue
        attempts = ws.attempts()
        state.teams[ws.name] = TeamRecord(attempts=[a.name for a in attempts])
        for attempt in attempts:
            record = state.workstreams[attempt.name]
            record.team_of, record.team = ws.name, attempt.team


def _plan(paths: FeaturePaths, spec: Path | None) -> Plan:
    if spec is not None:
        from dispatch.spec.parse import parse_spec

        plan = parse_spec(spec)
        if plan.feature != paths.feature:
            raise DispatchError(f"{spec} is the spec of feature '{plan.feature}', not "
                                f"'{paths.feature}'")
        return plan
    saved = paths.plan_file
    try:
        return Plan.model_validate_json(saved.read_text())
    except (OSError, ValueError):
        raise DispatchError(f"{paths.relative(saved)} is missing or damaged too; rebuild with "
                            f"the spec: 'dispatch repair {paths.feature} --spec "
                            "specs/<spec>.md'") from None


def _base(paths: FeaturePaths, branches: list[str]) -> str:
    """The commit most branches were created from, read from their reflogs."""
    created = list(history.creation_commits(paths.root, branches).values())
    if created:
        return Counter(created).most_common(1)[0][0]
    head = refs.commit_of(paths.root, "HEAD")
    if head is None:
        raise DispatchError("no branch of this feature is left and HEAD has no commit; "
                            "nothing to rebuild from")
    return head


def _record(paths: FeaturePaths, name: str, branch: str, plan: Plan,
            base: str) -> SessionRecord:
    worktree = paths.worktree(name)
    record = SessionRecord(name=name, branch=branch, path=paths.relative(worktree),
                           depends_on=plan.workstream(name).depends_on,
                           created_branch=True, checked_out=(worktree / ".git").exists(),
                           ports=_ports(worktree))
    _replay_logs(paths, record)
    tip = refs.branch_commit(paths.root, branch)
    record.commits = refs.count_commits(paths.root, f"{base}..{tip}") if tip else 0
    if record.status == "done" and (not record.commits or
                                    workfiles.read_results(worktree) is None):
        record.status = "interrupted"
    if record.attempts == 0:
        record.status = "pending" if record.checked_out else "provisioning"
    return record


def _replay_logs(paths: FeaturePaths, record: SessionRecord) -> None:
    """Session id, cost, turns and the last outcome from every run's output file."""
    from dispatch.commands.logs import runs

    outcome = None
    for attempt in runs(paths, record.name):
        outcome = run_result.outcome_of(None, run_result.run_files(paths, record.name, attempt))
        record.attempts = attempt
        record.total_cost_usd = round(record.total_cost_usd + outcome.cost_usd, 6)
        record.num_turns += outcome.num_turns
        record.duration_ms += outcome.duration_ms
        record.session_id = record.session_id or outcome.session_id
        record.session_created = record.session_created or outcome.kind in ("success", "error")
    if outcome is not None:
        record.last_checkpoint = outcome.message or None
        record.status = "done" if outcome.kind == "success" else (
            "failed" if outcome.kind == "error" and not outcome.transient else "interrupted")
        record.error = None if outcome.kind == "success" else outcome.message
        record.last_output = paths.relative(run_result.run_files(paths, record.name,
                                                              record.attempts).stdout)


def _ports(worktree: Path) -> dict[str, int]:
    from dotenv import dotenv_values

    env = worktree / ".env"
    return ports.port_keys(dict(dotenv_values(env))) if env.is_file() else {}


def _ports_without_env(paths: FeaturePaths, state: FeatureState) -> None:
    """Worktrees without a .env had ports only in sessions.json: give them the same ones
    again (same rule, same order), skipping ports other features hold."""
    from dispatch.workspace.envfile import read_root_env

    bases = ports.base_ports(None, state.plan.base_port, read_root_env(paths.root))
    taken = ports.recorded_ports(paths.root) - ports.recorded(
        r.ports for r in state.workstreams.values())
    for position, record in enumerate(state.workstreams.values(), start=1):
        if not record.ports:
            record.ports = ports.assign(bases, position, taken, busy=lambda _port: False)


def _integration(paths: FeaturePaths, state: FeatureState) -> IntegrationState | None:
    branch = f"{state.feature}/integration"
    head = refs.branch_commit(paths.root, branch)
    if head is None:
        return None
    merges = {}
    for name, record in state.workstreams.items():
        tip = refs.branch_commit(paths.root, record.branch)
        if tip and tip != state.base and refs.is_ancestor(paths.root, tip, head):
            merges[name] = MergeRecord(status="merged", tip=tip, reason="found by repair")
    return IntegrationState(branch=branch, path=paths.relative(paths.integration),
                            merges=merges)
