"""The queue's pure parts: items and their files, batches, booking, taking work, progress."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from dispatch.commands.status.queue_progress import progress
from dispatch.sessions import queue
from dispatch.sessions.done_check import Check
from dispatch.state import work_items
from dispatch.state.model import FeatureState, SessionRecord
from dispatch.state.plan import Plan, QueueSettings, Workstream


@pytest.mark.parametrize(("text", "file"), [
    ("`src/app.py`: fix E501", "src/app.py"),
    ("`src/app.py:12:4` F401 unused import", "src/app.py"),
    ("src/app.py:12: error: Incompatible types  [assignment]", "src/app.py"),
    ("fix lib/util.ts line 3", "lib/util.ts"),
    ("Update the CLI with `--stt` and `--tts` options", None),
    ("Add a `providers` command", None),
    ("`providers` in `app/cli/main.py`", "app/cli/main.py"),
    ("refactor the registry", None),
    ("bump to version 1.2", None),
])
def test_the_file_an_item_names(text: str, file: str | None) -> None:
    assert work_items.file_of(text) == file


def ws(name: str, files: list[str | None], depends_on: list[str] | None = None) -> Workstream:
    tasks = [f"`{f}`: fix number {n}" if f else f"tidy number {n}" for n, f in enumerate(files)]
    return Workstream(name=name, title=name.title(), number=1, goal="fix", tasks=tasks,
                      line=1, raw="", depends_on=depends_on or [])


def feature(*workstreams: Workstream, size: int = 2) -> FeatureState:
    plan = Plan(feature="f", title="f", spec="s.md", workstreams=list(workstreams),
                queue=QueueSettings(batch_size=size))
    state = FeatureState(feature="f", base="0" * 40, plan=plan, workstreams={
        w.name: SessionRecord(name=w.name, branch=f"f/{w.name}", path=f".worktrees/f/{w.name}",
                              depends_on=w.depends_on) for w in workstreams})
    return queue.ensure(state, plan)


def test_batches_are_cut_in_spec_order_and_batch_one_is_handed_out() -> None:
    state = feature(ws("a", ["x.py", "x.py", "y.py", None, "z.py"]), size=2)
    assert state.queue is not None
    assert [(b.number, [i.id for i in b.items], b.status, b.worker)
            for b in state.queue.batches] == [
        (1, ["a:1", "a:2"], "assigned", "a"), (2, ["a:3", "a:4"], "pending", None),
        (3, ["a:5"], "pending", None)]
    assert [i.file for i in state.queue.batches[1].items] == ["y.py", None]
    assert queue.ensure(state, state.plan) == state  # a rerun cuts nothing again


def finish(state: FeatureState, name: str, tip: str = "t") -> None:
    """What run.py's `_apply` does when the run passed the done check."""
    state.workstreams[name].status = "done"
    queue.after_run(state, name, Check(1, tip=tip))


def test_a_passed_batch_is_booked_and_the_next_handed_to_the_same_session() -> None:
    state = feature(ws("a", ["x.py", "y.py", "z.py"]), size=2)
    assert state.queue is not None
    finish(state, "a", tip="c1")
    first, second = state.queue.batches
    assert first.status == "done" and first.done_at is not None
    assert (second.status, second.worker, second.start_tip) == ("assigned", "a", "c1")
    record = state.workstreams["a"]
    assert (record.status, record.followed_up, record.resume_prompt) == ("pending", False, None)
    finish(state, "a", tip="c2")
    assert second.status == "done" and record.status == "done"


def test_a_batch_that_added_no_commits_fails_its_check() -> None:
    state = feature(ws("a", ["x.py", "y.py", "z.py"]), size=2)
    finish(state, "a", tip="c1")
    check = Check(3, tip="c1")
    queue.check_batch(state, state.workstreams["a"], check)
    assert check.missing == ["no new commits for batch 2 of a: commit its items on your branch"]


def test_only_a_done_run_books_its_batch() -> None:
    state = feature(ws("a", ["x.py", "y.py", "z.py"]), size=2)
    assert state.queue is not None
    state.workstreams["a"].status = "needs_attention"
    queue.after_run(state, "a", Check(0, ["no commits"]))
    assert [b.status for b in state.queue.batches] == ["assigned", "pending"]


def numbered(name: str, count: int, per_file: int) -> list[str | None]:
    return [f"{name}/m{n // per_file}.py" for n in range(count)]


def test_ran_out_takes_from_the_end_of_the_longest_list_when_files_stay_disjoint() -> None:
    state = feature(ws("short", ["s.py"]), ws("mid", numbered("mid", 6, 2)),
                    ws("long", numbered("long", 8, 2)), size=2)
    assert state.queue is not None
    finish(state, "short")
    taken = queue.assigned(state.queue, "short")
    assert taken is not None and (taken.owner, taken.number) == ("long", 4)
    assert state.workstreams["short"].notes == [
        "took batch 4 of long (its files are in no other batch of long)"]


@pytest.mark.parametrize(("files", "why"), [
    (["l/a.py", "l/b.py", "l/a.py", "l/b.py"], "each batch shares a file with another"),
    (["l/a.py", "l/b.py", "l/c.py", None], "an item of the last batch names no file"),
])
def test_nothing_is_taken_when_files_could_overlap(files: list[str | None], why: str) -> None:
    state = feature(ws("short", ["s.py"]), ws("long", files), size=2)
    finish(state, "short")
    assert state.workstreams["short"].status == "done", why


def test_a_shared_file_in_a_done_batch_still_blocks_taking() -> None:
    state = feature(ws("short", ["s.py", "t.py"]),
                    ws("long", ["l/a.py", "l/b.py", "l/c.py", "l/a.py"]), size=2)
    assert state.queue is not None
    state.queue.batches[2].status = "done"  # long's batch 1 (l/a.py) is done already
    finish(state, "short")
    assert state.workstreams["short"].status == "done"


def test_nothing_is_taken_from_a_list_whose_owner_has_dependencies() -> None:
    state = feature(ws("short", ["s.py"]), ws("long", numbered("l", 6, 2), ["short"]), size=2)
    finish(state, "short")
    assert state.workstreams["short"].status == "done"


T0 = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)


def batch(owner: str, number: int, status: str, worker: str | None = None, items: int = 10,
          start: float | None = None, end: float | None = None) -> dict[str, Any]:
    def at(minutes: float | None) -> str | None:
        return None if minutes is None else (T0 + timedelta(minutes=minutes)).isoformat()

    return {"owner": owner, "number": number, "status": status, "worker": worker,
            "items": [{"id": f"{owner}:{n}"} for n in range(items)],
            "assigned_at": at(start), "done_at": at(end)}


def test_progress_counts_items_rate_and_eta() -> None:
    state = {"workstreams": {"a": {}, "b": {}}, "queue": {"batch_size": 10, "batches": [
        batch("a", 1, "done", "a", start=0, end=30), batch("a", 2, "assigned", "a", start=30),
        batch("b", 1, "done", "b", start=0, end=60), batch("b", 2, "done", "a", start=30,
                                                            end=60, items=5),
        batch("b", 3, "pending")]}}
    found = progress(state)
    assert found is not None
    assert (found["items_done"], found["items_total"], found["batches_taken"]) == (25, 45, 1)
    assert found["items_per_hour"] == 25.0 and found["eta_hours"] == 0.8  # 20 left at 25/h
    a, b = found["workstreams"]
    assert (a["items_done"], a["items_total"], a["by_its_session"]) == (10, 20, 15)
    assert (a["batch"], a["taken"], a["items_per_hour"]) == ("a 2", ["b 2"], 15.0)
    assert a["eta_hours"] == round(10 / 15, 3)
    assert (b["items_done"], b["items_total"], b["eta_hours"]) == (15, 25, 1.0)


def test_progress_before_any_batch_passed_has_no_rate_and_without_a_queue_is_none() -> None:
    state = {"workstreams": {"a": {}}, "queue": {"batch_size": 10, "batches": [
        batch("a", 1, "assigned", "a", start=0)]}}
    found = progress(state)
    assert found is not None and found["items_per_hour"] is None and found["eta_hours"] is None
    assert progress({"workstreams": {}}) is None


def test_a_workstream_whose_session_already_ran_gets_no_batches() -> None:
    state = feature(ws("a", ["x.py"]), size=2)
    state.queue = None
    state.workstreams["a"].attempts = 1  # it ran before the queue was asked for
    assert queue.ensure(state, state.plan).queue is not None
    assert state.queue is not None and state.queue.batches == []
