"""Which feature and workstreams a command means: every command that acts on workstreams
takes them the same way (`dispatch stop WS...`, `-f FEATURE` when several features exist)."""

from __future__ import annotations

from pathlib import Path

from dispatch.gitops import repository
from dispatch.state.names import unknown_workstream
from dispatch.state.paths import FeaturePaths, features, pick_feature
from dispatch.state.store import StateStore


def feature(given: str | None) -> FeaturePaths:
    root = repository.find(Path.cwd()).root
    return FeaturePaths(root, pick_feature(root, given))


def workstreams(given_feature: str | None,
                names: list[str]) -> tuple[FeaturePaths, list[str]]:
    """The feature and the named workstreams (checked). A first name that is a feature and
    not a workstream is taken as the feature (`dispatch stop FEATURE WS` still works)."""
    root = repository.find(Path.cwd()).root
    if given_feature is None and names and names[0] in features(root):
        paths = FeaturePaths(root, names[0])
        if names[0] not in StateStore(paths).load().workstreams:
            given_feature, names = names[0], names[1:]
    paths = FeaturePaths(root, pick_feature(root, given_feature))
    known = list(StateStore(paths).load().workstreams)
    for name in names:
        if name not in known:
            raise unknown_workstream(paths.feature, name, known)
    return paths, names
