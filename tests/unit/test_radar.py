"""The conflict radar's decisions on a real repository: which pairs it merges (only live ones
whose tips moved), what it reports new, what it clears, and what a run is told."""

from __future__ import annotations

from pathlib import Path

from dispatch.sessions import radar
from dispatch.state.model import Collision, FeatureState, SessionRecord
from dispatch.state.paths import FeaturePaths
from dispatch.state.plan import Plan, Workstream
from tests.support.gitrepo import commit, git, make_repo


def _state(repo: Path, statuses: dict[str, str]) -> FeatureState:
    base = git(repo, "rev-parse", "HEAD")
    workstreams, records = [], {}
    for number, (name, status) in enumerate(statuses.items(), 1):
        workstreams.append(Workstream(name=name, title=name, number=number, goal="g", line=number,
                                      raw=""))
        records[name] = SessionRecord(name=name, branch=f"f/{name}", path=f"wt/{name}",
                                      status=status)
        git(repo, "branch", f"f/{name}", base)
    plan = Plan(feature="f", title="F", spec="specs/f.md", workstreams=workstreams)
    return FeatureState(feature="f", base=base, plan=plan, workstreams=records)


def _on(repo: Path, branch: str, files: dict[str, str]) -> None:
    git(repo, "checkout", "-q", branch)
    commit(repo, files, f"{branch} work")
    git(repo, "checkout", "-q", "-")


def test_a_pair_is_reported_once_and_cleared_when_it_merges_again(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    state = _state(repo, {"api": "running", "web": "running", "docs": "done"})
    looking = radar.Radar(FeaturePaths(repo, "f"))
    assert looking.scan(state) == ([], set())  # no work yet: nothing to merge

    _on(repo, "f/api", {"shared.txt": "api\n"})
    _on(repo, "f/web", {"shared.txt": "web\n"})
    _on(repo, "f/docs", {"docs.txt": "docs\n"})
    fresh, cleared = looking.scan(state) or ([], set())
    assert [(c.a, c.b, c.files) for c in fresh] == [("api", "web", ["shared.txt"])]
    assert cleared == set()
    radar.record(state, fresh, cleared)

    assert looking.scan(state) == ([], set())  # same tips: not merged again, not news
    _on(repo, "f/web", {"shared.txt": "api\n"})  # web takes api's text: clean again
    assert looking.scan(state) == ([], {("api", "web")})


def test_nothing_running_nothing_looked_at(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    state = _state(repo, {"api": "done", "web": "failed"})
    _on(repo, "f/api", {"shared.txt": "api\n"})
    _on(repo, "f/web", {"shared.txt": "web\n"})
    assert radar.Radar(FeaturePaths(repo, "f")).scan(state) is None


def test_each_side_is_told_once_in_its_next_run(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    state = _state(repo, {"api": "running", "web": "running"})
    state.collisions = [Collision(a="api", b="web", files=["shared.txt"], tips=["1", "2"])]
    radar.mark_told(state, "api", 3)
    radar.mark_told(state, "api", 4)  # already told in run 3
    assert state.collisions[0].told == {"api": 3}
    assert "**web**'s both change `shared.txt`" in (radar.told_text(state, "api", 3) or "")
    assert radar.told_text(state, "api", 4) is None
    assert radar.told_text(state, "web", 1) is None  # not marked for web yet


def test_changed_files_are_news_again(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    state = _state(repo, {"api": "running", "web": "running"})
    old = Collision(a="api", b="web", files=["a.txt"], tips=["1", "2"], told={"api": 1})
    state.collisions = [old]
    new = Collision(a="api", b="web", files=["a.txt", "b.txt"], tips=["3", "4"])
    radar.record(state, [new], set())
    assert state.collisions == [new] and new.told == {}


def test_a_collision_is_over_once_both_sides_landed(tmp_path: Path) -> None:
    from dispatch.state.model import IntegrationState, MergeRecord

    repo = make_repo(tmp_path / "repo")
    state = _state(repo, {"api": "done", "web": "done", "docs": "done"})
    for name in ("api", "web", "docs"):
        state.workstreams[name].tip = f"{name}-tip"
    state.collisions = [Collision(a="api", b="web", files=["s.txt"], tips=["1", "2"]),
                        Collision(a="api", b="docs", files=["d.txt"], tips=["1", "3"])]
    state.integration = IntegrationState(branch="f/integration", path="wt/integration", merges={
        "api": MergeRecord(status="merged", tip="api-tip"),
        "web": MergeRecord(status="merged", tip="web-tip"),
        "docs": MergeRecord(status="merged", tip="an-older-tip")})  # docs moved on since
    assert radar.landed_pairs(state) == {("api", "web")}
    fresh, cleared = radar.Radar(FeaturePaths(repo, "f")).scan(state) or ([], set())
    assert (fresh, cleared) == ([], {("api", "web")})
