"""`scheduler.decide` (and `can_progress`): which workstreams start, wait, block or hold, as
tables. A state is written as `name:status` words, `name:status<dep+dep` for dependencies."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from dispatch.sessions.scheduler import Decision, can_progress, decide
from dispatch.state.model import FeatureState, RunSettings, SessionRecord
from dispatch.state.plan import Plan, Workstream

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
SLOT = "waiting for a free slot (--max-parallel)"


def state(layout: str, *, max_parallel: int = 4, budget: float | None = None,
          costs: dict[str, float] | None = None,
          retry_at: dict[str, datetime | None] | None = None) -> FeatureState:
    """`layout`: e.g. "api:done web:pending docs:waiting<api+web" (spec order)."""
    records, workstreams = {}, []
    for number, word in enumerate(layout.split(), 1):
        head, _, deps = word.partition("<")
        name, status = head.split(":")
        depends_on = deps.split("+") if deps else []
        workstreams.append(Workstream(name=name, title=name, number=number, goal="g",
                                      depends_on=depends_on, line=number, raw=""))
        records[name] = SessionRecord(
            name=name, branch=f"f/{name}", path=f".worktrees/f/{name}", status=status,
            depends_on=depends_on, total_cost_usd=(costs or {}).get(name, 0.0),
            next_attempt_at=(retry_at or {}).get(name))
    plan = Plan(feature="f", title="F", spec="specs/f.md", workstreams=workstreams)
    # the plan's order is the spec's; the records' order is scrambled on purpose
    return FeatureState(feature="f", base="0" * 40, plan=plan,
                        run=RunSettings(max_parallel=max_parallel, budget_usd=budget),
                        workstreams=dict(reversed(records.items())))


def launch(name: str) -> Decision:
    return Decision(name, "launch")


DEPENDENCIES = [  # (id, layout, decisions)
    ("no-dependencies", "api:pending web:pending", [launch("api"), launch("web")]),
    ("dependency-done", "api:done docs:waiting<api", [launch("docs")]),
    ("dependency-running", "api:running docs:pending<api",
     [Decision("docs", "wait", "waiting for api (running)")]),
    ("dependency-pending", "api:pending docs:waiting<api",
     [launch("api"), Decision("docs", "wait", "waiting for api (pending)")]),
    ("dependency-retrying", "api:retrying docs:waiting<api",
     [launch("api"), Decision("docs", "wait", "waiting for api (retrying)")]),
    ("dependency-needs-attention", "api:needs_attention docs:waiting<api",
     [Decision("docs", "wait", "waiting for api (needs_attention)")]),
    ("dependency-stopped", "api:stopped docs:waiting<api",
     [Decision("docs", "wait", "waiting for api (stopped)")]),
    ("dependency-failed", "api:failed docs:waiting<api",
     [Decision("docs", "block", "dependency api is failed")]),
    ("dependency-blocked", "api:failed web:blocked<api docs:waiting<web",
     [Decision("docs", "block", "dependency web is blocked")]),
    ("dependency-missing", "docs:waiting<ghost",
     [Decision("docs", "block", "dependency ghost is missing")]),
    ("join-half-done", "api:done web:running docs:waiting<api+web",
     [Decision("docs", "wait", "waiting for web (running)")]),
    ("join-done", "api:done web:done docs:waiting<api+web", [launch("docs")]),
    ("join-first-unfinished-named", "api:running web:running docs:waiting<api+web",
     [Decision("docs", "wait", "waiting for api (running)")]),
    ("join-decided-by-its-first-unfinished", "api:running web:failed docs:waiting<api+web",
     [Decision("docs", "wait", "waiting for api (running)")]),
    ("join-failure-first", "api:failed web:running docs:waiting<api+web",
     [Decision("docs", "block", "dependency api is failed")]),
    ("only-startable-statuses", "a:provisioning b:running c:done d:needs_attention "
     "e:failed f:blocked g:stopped h:interrupted i:pending", [launch("i")]),
]


@pytest.mark.parametrize(("layout", "decisions"),
                         [pytest.param(layout, d, id=i) for i, layout, d in DEPENDENCIES])
def test_dependencies(layout: str, decisions: list[Decision]) -> None:
    assert decide(state(layout), NOW, running=0) == decisions


CAPACITY = [  # (id, layout, max_parallel, running, decisions)
    ("room-for-all", "a:pending b:pending", 4, 2, [launch("a"), launch("b")]),
    ("room-for-one", "a:pending b:pending c:pending", 2, 1,
     [launch("a"), Decision("b", "hold", SLOT), Decision("c", "hold", SLOT)]),
    ("full", "a:pending", 2, 2, [Decision("a", "hold", SLOT)]),
    ("over-full", "a:pending", 2, 3, [Decision("a", "hold", SLOT)]),
    ("a-wait-takes-no-slot", "x:running a:waiting<x b:pending", 2, 1,
     [Decision("a", "wait", "waiting for x (running)"), launch("b")]),
    ("spec-order-gets-the-slot", "c:retrying b:pending a:pending", 1, 0,
     [launch("c"), Decision("b", "hold", SLOT), Decision("a", "hold", SLOT)]),
]


@pytest.mark.parametrize(("layout", "max_parallel", "running", "decisions"),
                         [pytest.param(*row[1:], id=row[0]) for row in CAPACITY])
def test_capacity(layout: str, max_parallel: int, running: int,
                  decisions: list[Decision]) -> None:
    assert decide(state(layout, max_parallel=max_parallel), NOW, running) == decisions


def spent(text: str) -> str:
    return f"feature budget reached ({text})"


BUDGET = [  # (id, layout, budget, costs, decisions)
    ("no-budget", "a:done b:pending", None, {"a": 99.0}, [launch("b")]),
    ("under-budget", "a:done b:pending", 0.5, {"a": 0.49}, [launch("b")]),
    ("budget-reached", "a:done b:pending", 0.5, {"a": 0.5},
     [Decision("b", "hold", spent("$0.50 of $0.50"))]),
    ("budget-exceeded-over-several", "a:done b:failed c:pending", 0.5, {"a": 0.3, "b": 0.3},
     [Decision("c", "hold", spent("$0.60 of $0.50"))]),
    ("budget-does-not-hide-a-wait", "a:running b:waiting<a c:pending", 0.5, {"a": 0.6},
     [Decision("b", "wait", "waiting for a (running)"),
      Decision("c", "hold", spent("$0.60 of $0.50"))]),
    ("budget-before-capacity", "a:pending", 0.5, {"a": 0.6},
     [Decision("a", "hold", spent("$0.60 of $0.50"))]),
]


@pytest.mark.parametrize(("layout", "budget", "costs", "decisions"),
                         [pytest.param(*row[1:], id=row[0]) for row in BUDGET])
def test_budget(layout: str, budget: float | None, costs: dict[str, float],
                decisions: list[Decision]) -> None:
    assert decide(state(layout, budget=budget, costs=costs), NOW, running=0) == decisions


RETRIES = [  # (id, next attempt, decision)
    ("due-later", NOW + timedelta(seconds=30), Decision("a", "hold", "retrying at 12:00:30")),
    ("due-now", NOW, launch("a")),
    ("overdue", NOW - timedelta(seconds=30), launch("a")),
    ("no-time-set", None, launch("a")),
]


@pytest.mark.parametrize(("due", "decision"),
                         [pytest.param(due, d, id=i) for i, due, d in RETRIES])
def test_a_retry_waits_until_it_is_due(due: datetime | None, decision: Decision) -> None:
    assert decide(state("a:retrying", retry_at={"a": due}), NOW, running=0) == [decision]


def test_a_retry_not_due_takes_no_slot() -> None:
    later = NOW + timedelta(seconds=30)
    assert decide(state("a:retrying b:pending", max_parallel=1, retry_at={"a": later}), NOW,
                  running=0) == [Decision("a", "hold", "retrying at 12:00:30"), launch("b")]


PROGRESS = [  # (id, layout, running, budget, costs, can progress)
    ("a-run-is-going", "a:running", {"a"}, None, {}, True),
    ("something-to-launch", "a:done b:pending", set(), None, {}, True),
    ("a-retry-is-due-later", "a:retrying", set(), None, {}, True),
    ("waiting-on-a-startable", "a:pending b:waiting<a", set(), None, {}, True),
    ("all-done", "a:done b:done", set(), None, {}, False),
    ("waiting-on-a-failure", "a:failed b:waiting<a", set(), None, {}, False),
    ("waiting-on-someone-to-look", "a:needs_attention b:waiting<a", set(), None, {}, False),
    ("waiting-on-a-missing-one", "b:waiting<ghost", set(), None, {}, False),
    ("budget-spent", "a:done b:pending", set(), 0.5, {"a": 0.5}, False),
    ("budget-spent-but-a-run-is-going", "a:running b:pending", {"a"}, 0.5, {"a": 0.5}, True),
    ("a-damaged-cycle", "a:waiting<b b:waiting<a", set(), None, {}, False),
]


@pytest.mark.parametrize(("layout", "running", "budget", "costs", "expected"),
                         [pytest.param(*row[1:], id=row[0]) for row in PROGRESS])
def test_can_progress(layout: str, running: set[str], budget: float | None,
                      costs: dict[str, float], expected: bool) -> None:
    assert can_progress(state(layout, budget=budget, costs=costs), running) is expected
