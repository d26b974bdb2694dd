"""Features made from branches dispatch did not create (`integrate --pattern`).

Each matching branch (e.g. `claude/segment-3`, pushed by a session on another machine)
becomes a workstream named after what follows the pattern's folder (`segment-3`),
counted as done: there is no session here to wait for.
"""

from __future__ import annotations

import re
from functools import partial

from dispatch.core.errors import DispatchError
from dispatch.gitops import repository
from dispatch.state import names
from dispatch.state.model import FeatureState, SessionRecord
from dispatch.state.paths import FeaturePaths
from dispatch.state.plan import Plan, Workstream
from dispatch.state.store import StateStore


def feature_name(pattern: str) -> str:
    prefix = re.split(r"[*?\[]", pattern, maxsplit=1)[0]
    name = names.feature_from_filename(prefix.replace("/", "-"))
    if not name:
        raise DispatchError(f"cannot name a feature after the pattern {pattern!r}; name one: "
                            "dispatch integrate <feature> --pattern ...")
    return name


def workstream_name(pattern: str, branch: str, taken: set[str]) -> str:
    """`claude/segment-3` under `claude/segment-*` -> `segment-3` (the folder part goes)."""
    folder = re.split(r"[*?\[]", pattern, maxsplit=1)[0].rpartition("/")[0]
    name = names.slugify_workstream(branch.removeprefix(folder + "/" if folder else "")) \
        or "branch"
    if name in names.RESERVED_WORKSTREAMS:
        name += "-ws"
    candidate, number = name, 2
    while candidate in taken:
        candidate, number = f"{name}-{number}", number + 1
    return candidate


def ensure(paths: FeaturePaths, repo: repository.Repo, pattern: str, base: str | None) -> None:
    store = StateStore(paths)
    if store.exists():
        if not store.load().external:
            raise DispatchError(f"feature '{paths.feature}' has workstreams of its own; "
                                "--pattern is for branches dispatch did not create: name "
                                "another feature")
        return
    commit = repository.resolve_base(repo, base)
    plan = Plan(feature=paths.feature, title=f"Branches matching {pattern}", spec="",
                base=base, workstreams=[])
    paths.dir.mkdir(parents=True, exist_ok=True)
    store.create(FeatureState(feature=paths.feature, base=commit, base_ref=base, plan=plan,
                              external=True))


def add_branches(paths: FeaturePaths, pattern: str, branches: list[str]) -> None:
    StateStore(paths).update(partial(_add, pattern=pattern, branches=branches))


def _add(state: FeatureState, pattern: str, branches: list[str]) -> None:
    known = {record.branch for record in state.workstreams.values()}
    for branch in sorted(branches):
        if branch in known:
            continue
        name = workstream_name(pattern, branch, set(state.workstreams))
        state.plan.workstreams.append(Workstream(
            name=name, title=branch, number=len(state.plan.workstreams) + 1,
            goal=f"the work on {branch}", line=0, raw="", branch=branch))
        state.workstreams[name] = SessionRecord(name=name, branch=branch, path="",
                                                status="done")
