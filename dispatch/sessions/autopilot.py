"""The autopilot (`start --integrate`): each workstream merged into the integration branch as
soon as it is done, and what keeps it out handed back to the session that wrote it.

- Landing: done workstreams whose dependencies have landed go to a detached landing process
  (integration/landing.py: the merges, verify, batches and report of `dispatch integrate`), one
  at a time, so that a slow verify never holds up the supervisor.
- Handing back: a merge that conflicts or turns verify red sends the workstream's own session
  a generated prompt (the files and whose work they collide with, or the failing command and
  the end of its log) and queues it again; its done check runs when it ends, and a new tip
  lands again. At most `fix_rounds` rounds; then `needs_attention`, with the reason.
"""

from __future__ import annotations

import subprocess
import sys
import time
from functools import partial
from pathlib import Path

from dispatch.core import files, render
from dispatch.core.text import visible
from dispatch.integration import landing
from dispatch.integration.landing import BUSY, CRASHED
from dispatch.state import picks
from dispatch.state.model import FeatureState, FixRound, MergeRecord, SessionRecord
from dispatch.state.paths import FeaturePaths
from dispatch.state.store import StateStore
from dispatch.workspace import briefing

RETRY_BUSY = 5.0  # seconds before trying again when a person's `integrate` holds the lock
MAX_CRASHES = 3  # landings in a row that crashed before the autopilot stops trying
LOG_TAIL = 40  # lines of a failed verify's log given to the session that must fix it
FAILED = ("conflict", "verify_failed")


class Autopilot:
    def __init__(self, paths: FeaturePaths) -> None:
        self.paths = paths
        self.landing: subprocess.Popen[bytes] | None = None
        self.not_before = 0.0
        self.gave_up: dict[str, str] = {}  # a landing that failed as a whole: name -> tip
        self.names: list[str] = []  # what the landing under way was given
        self.crashes = 0  # landings in a row that crashed

    def tick(self, store: StateStore, state: FeatureState) -> None:
        """Reap a finished landing, hand back what it could not land, start the next."""
        if state.run is None or not state.run.integrate:
            return
        if self.landing is not None:
            code = self.landing.poll()
            if code is None:
                return
            self.landing = None
            if code == BUSY:
                self.not_before = time.monotonic() + RETRY_BUSY
            state = store.update(partial(hand_back, paths=self.paths))
            self.crashes = self.crashes + 1 if code == CRASHED else 0
            if code == CRASHED and self.crashes < MAX_CRASHES:
                self.not_before = time.monotonic() + RETRY_BUSY  # a race may pass: again
            elif code not in (0, 1, BUSY):  # it could not integrate at all: see landing.log
                self.gave_up.update({n: state.workstreams[n].tip or "" for n in self.names})
                why = (f"the autopilot could not land it (see "
                       f"{self.paths.relative(self.paths.logs)}/landing.log); fix that, then "
                       f"'dispatch integrate {self.paths.feature}'")
                state = store.update(partial(_say_why, names=self.names, why=why))
        ready = self._ready(state)
        if ready and time.monotonic() >= self.not_before:
            self._start(ready)

    def last_word(self, state: FeatureState) -> None:
        """As the supervisor ends: the report, written again with how every workstream ended
        (a landing wrote it before the last hand-backs)."""
        if state.run is not None and state.run.integrate and state.integration is not None:
            landing.refresh_report(self.paths)

    def busy(self, state: FeatureState) -> bool:
        """Whether landing is under way or due: the supervisor must not exit yet."""
        if state.run is None or not state.run.integrate:
            return False
        return self.landing is not None or bool(self._ready(state))

    def _ready(self, state: FeatureState) -> list[str]:
        return [name for name in ready_to_land(state)
                if self.gave_up.get(name) != state.workstreams[name].tip]

    def _start(self, names: list[str]) -> None:
        self.names = names
        self.paths.logs.mkdir(parents=True, exist_ok=True)
        with files.open_log(self.paths.logs / "landing.log") as log:
            self.landing = subprocess.Popen(
                [sys.executable, "-m", "dispatch.integration.landing", str(self.paths.root),
                 self.paths.feature, *names], cwd=self.paths.root, stdin=subprocess.DEVNULL,
                stdout=log, stderr=log, start_new_session=True, close_fds=True)


def _say_why(state: FeatureState, names: list[str], why: str) -> FeatureState:
    for name in names:
        if name in state.workstreams and state.workstreams[name].status == "done":
            state.workstreams[name].error = why
    return state


def ready_to_land(state: FeatureState) -> list[str]:
    """Done workstreams not yet tried at their current tip, whose dependencies have landed
    (a dependant's branch holds its dependencies' work: they go first)."""
    merges = state.integration.merges if state.integration else {}
    ready = []
    for name in state.names():
        record = state.workstreams[name]
        if record.status != "done" or not record.tip or picks.left_out(state, name):
            continue  # (an attempt of competing teams lands once it is the pick)
        tried = merges.get(name)
        if tried is not None and tried.tip == record.tip and tried.status != "skipped":
            continue
        if all(_landed(merges.get(picks.stands_for(state, dep) or dep))
               for dep in record.depends_on):
            ready.append(name)
    return ready


def _landed(record: MergeRecord | None) -> bool:
    return record is not None and record.status == "merged"


def hand_back(state: FeatureState, paths: FeaturePaths) -> FeatureState:
    """Send each workstream that could not land back to its session, or to a person."""
    assert state.run is not None
    merges = state.integration.merges if state.integration else {}
    for name in state.names():
        record = state.workstreams[name]
        merge = merges.get(name)
        if record.status != "done" or merge is None or merge.status not in FAILED or \
                merge.tip != record.tip:
            continue
        kind = "conflict" if merge.status == "conflict" else "verify"
        what = _what(merge)
        if any(earlier.tip == merge.tip for earlier in record.rounds):
            _to_a_person(state, record, f"fix round {len(record.rounds)} ended with no new "
                         f"commits and the branch still does not land ({what})")
        elif len(record.rounds) >= state.run.fix_rounds:
            _to_a_person(state, record, f"still does not land after {len(record.rounds)} "
                         f"fix round(s): {what}")
        else:
            fix = FixRound(kind=kind, tip=merge.tip or "", reason=what, files=merge.files,
                           collides_with=merge.collides_with)
            record.rounds.append(fix)
            record.resume_prompt = _prompt(paths, state, record, fix, merge)
            record.status, record.retries, record.followed_up = "pending", 0, False
            record.error = f"fix round {len(record.rounds)} of {state.run.fix_rounds}: {what}"
    return state


def _what(merge: MergeRecord) -> str:
    if merge.status == "conflict" and merge.files:
        who = f" with {', '.join(merge.collides_with)}" if merge.collides_with else ""
        return f"conflicts{who} in {', '.join(merge.files[:5])}"
    return merge.reason or merge.status


def _to_a_person(state: FeatureState, record: SessionRecord, why: str) -> None:
    assert state.integration is not None
    record.status = "needs_attention"
    record.error = f"{why}; fix it in its worktree (merge {state.integration.branch} into " \
                   f"its branch), then 'dispatch resume {record.name}'"


def _prompt(paths: FeaturePaths, state: FeatureState, record: SessionRecord, fix: FixRound,
            merge: MergeRecord) -> str:
    assert state.integration is not None and state.run is not None
    ws = state.plan.workstream(record.name)
    context = briefing.context(paths, state, ws)
    context.update(
        round=fix, integration=state.integration.branch, number=len(record.rounds),
        limit=state.run.fix_rounds, log=merge.verify_log,
        verify=state.integration.verify or context["verify"],
        tail=_tail(paths.root / merge.verify_log) if merge.verify_log else "")
    return render.render("fix_prompt.md.j2", paths.root, **context).strip()


def _tail(log: Path) -> str:
    text = files.tail(log, 64 * 1024).decode("utf-8", errors="replace")
    return visible("\n".join(text.splitlines()[-LOG_TAIL:]))
