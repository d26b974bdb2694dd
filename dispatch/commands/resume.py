"""`dispatch resume`: queue a workstream's session to continue, in its own worktree."""

from __future__ import annotations

from functools import partial

from dispatch.core import procs
from dispatch.core.errors import DispatchError
from dispatch.sessions import claude_cli, client
from dispatch.state.model import FeatureState, RunSettings, SessionRecord
from dispatch.state.names import unknown_workstream
from dispatch.state.paths import FeaturePaths
from dispatch.state.store import StateStore


def resume(paths: FeaturePaths, name: str | None, *, all_: bool, prompt: str | None,
           force: bool, claude: str | None) -> tuple[list[str], client.Supervision]:
    store = StateStore(paths)
    _run_settings(store.load(), claude)  # refuses before anything changes
    client.reconcile(paths)
    names = _chosen(store.load(), name, all_)
    return names, requeue(paths, names, prompt=prompt, force=force, claude=claude)


def requeue(paths: FeaturePaths, names: list[str], *, prompt: str | None, force: bool,
            claude: str | None) -> client.Supervision:
    """Queue these workstreams' sessions to continue (`prompt`: what each is told). A
    running one is refused, or with `force` stopped first — its process group has ended
    before the next run is queued: one session, one process."""
    store = StateStore(paths)
    state = store.load()
    run = _run_settings(state, claude)
    _expect_budget(state, run)
    gone = [n for n in names if not state.plan.has(n)]
    if gone:
        raise DispatchError(f"{', '.join(gone)} is no longer in the feature's spec (an edited "
                            f"spec left it out); put it back and run 'dispatch start "
                            f"{state.feature}' (or the spec) to go on with it")
    stopped = []
    for record in (state.workstreams[n] for n in names):
        if record.status == "running" and procs.is_alive(record.pid, record.pid_started):
            if not force:
                raise DispatchError(f"{record.name} is running (pid {record.pid}); wait for it, "
                                    "or pass --force to stop it first")
            stopped += client.stop(paths, [record.name])
    store.update(partial(_queue, names=names, prompt=prompt, run=run, stopped=stopped))
    supervision = client.Supervision(paths)
    client.wait_launched(supervision)
    return supervision


def _run_settings(state: FeatureState, claude: str | None) -> RunSettings:
    run = state.run or RunSettings()
    if claude is not None or state.run is None or run.worker == "claude":
        # Found again each time: the program may have moved since `start`.
        program = claude_cli.find_claude(claude or (run.claude[0] if run.claude else None))
        run = run.model_copy(update={"worker": "claude", "claude": program})
    else:
        run = run.model_copy(update={"claude": claude_cli.rehearsal_program()})
    return run


def _chosen(state: FeatureState, name: str | None, all_: bool) -> list[str]:
    if all_ == (name is not None):
        raise DispatchError("name one workstream to resume, or pass --all")
    if name is not None:
        if name not in state.workstreams:
            raise unknown_workstream(state.feature, name, list(state.workstreams))
        return [name]
    chosen = [r.name for r in state.workstreams.values()
              if _resumable(r) and state.plan.has(r.name)]
    if not chosen:
        raise DispatchError("nothing to resume: no workstream is interrupted, stopped, "
                            "retrying, blocked, failed on a transient or login problem, or "
                            "needs attention")
    return chosen


def _resumable(record: SessionRecord) -> bool:
    """What `--all` continues: everything that stopped short of done for a reason a resume
    can fix (a retry left waiting by a supervisor that died is one, and a failure outside
    the workstream, such as a login, once fixed)."""
    return record.status in ("interrupted", "needs_attention", "stopped", "retrying",
                             "blocked") or (
        record.status == "failed" and (record.transient or record.fixable))


def _expect_budget(state: FeatureState, run: RunSettings) -> None:
    spent = state.total_cost()
    if run.budget_usd is not None and spent >= run.budget_usd:
        raise DispatchError(f"the feature's budget is spent (${spent:.2f} of "
                            f"${run.budget_usd:.2f}); raise it with 'dispatch start "
                            f"{state.feature} --budget-usd <more>'")


def _queue(state: FeatureState, names: list[str], prompt: str | None,
           run: RunSettings, stopped: list[str]) -> None:
    state.run = run.model_copy(update={"halted": None})  # a person has fixed what halted it
    for name in names:
        record = state.workstreams[name]
        record.status, record.error, record.transient = "pending", None, False
        record.resume_prompt, record.next_attempt_at = prompt, None
        record.followed_up, record.retries, record.fixable = False, 0, False
        if name in stopped:  # the CLI saved the session before it was stopped: resume it
            record.session_created = True
    for record in state.workstreams.values():  # held back, or blocked by what now resumes
        if record.status == "blocked" or (record.status == "pending" and record.error):
            record.status, record.error = "pending", None


def wait(supervision: client.Supervision, names: list[str]) -> int:
    state = client.wait_finished(supervision, lambda _state: None, set(names))
    return 0 if all(state.workstreams[n].status == "done" for n in names) else 1
