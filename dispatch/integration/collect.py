"""`integrate --collect GLOB --into PATH`: the JSON segments that many branches added,
combined into one checked file committed on the integration branch.

After the merges, every file of the integration branch that matches the glob is a segment.
Segments are read from git, never from a disk a worker could still change; each one comes
from the workstream whose merge last changed it on the branch's first-parent line. Each is
checked (segment_json, and the schema when given) and the valid ones are combined
(combine.py: the order and what a clash is). A segment left out is named with its branch,
file and reason, and its branch is never deleted.

The output is committed like dispatch's merges (`commit-tree`: unsigned, the user's git
identity) on top of the integration branch, whose worktree then moves forward to it. Only
when it changed: running again with nothing new makes no commit.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from dispatch.core.errors import DispatchError
from dispatch.core.text import counted
from dispatch.gitops import history, merges, objects, refs
from dispatch.integration import (
    checkout,
    collect_paths,
    combine,
    foreign,
    segment_json,
    segment_schema,
)
from dispatch.state.locks import try_lock
from dispatch.state.model import FeatureState, IntegrationState
from dispatch.state.paths import FeaturePaths
from dispatch.state.store import StateStore

_SYMLINK, _SUBMODULE = "120000", "160000"


@dataclass(frozen=True)
class Spec:
    """What to collect, checked before anything changes (see `spec`)."""

    pattern: str
    into: str
    key: str | None = None
    schema: segment_schema.Schema | None = None


def spec(root: Path, pattern: str, into: str | None, key: str | None,
         schema: Path | None) -> Spec:
    if into is None:
        raise DispatchError("--collect needs --into PATH: the file to write the combined "
                            "segments to, e.g. --into public/merged.json")
    if key is not None and not key.strip():
        raise DispatchError("--key is empty; name the member that identifies a record, "
                            "e.g. --key id")
    return Spec(collect_paths.check_glob(pattern), collect_paths.check_into(root, into), key,
                segment_schema.load(schema) if schema is not None else None)


@dataclass
class Segment:
    path: str
    workstream: str | None  # None: no workstream's merge brought it (it came with the base)
    branch: str | None
    items: int = 0  # what it put in the output
    reason: str | None = None  # why it was left out

    def named(self) -> str:
        return f"{self.path} ({self.branch or 'no branch: it came with the base'})"


@dataclass
class Collection:
    spec: Spec
    branch: str  # the integration branch
    segments: list[Segment] = field(default_factory=list)
    commit: str | None = None  # the commit this run made to write the output

    def collected(self) -> list[Segment]:
        return [s for s in self.segments if s.reason is None]

    def left_out(self) -> list[Segment]:
        return [s for s in self.segments if s.reason is not None]

    def items(self) -> int:
        return sum(s.items for s in self.segments)

    def keeps(self, workstream: str) -> str | None:
        """Why the branch of `workstream` must not be deleted, or None."""
        own = [s for s in self.segments if s.workstream == workstream]
        bad = [s for s in own if s.reason is not None]
        if bad:
            return f"its segment {bad[0].path} was left out"
        if not own:
            return f"it brought no file matching {self.spec.pattern}"
        return None

    def nothing_found(self) -> str:
        return (f"no file in {self.branch} matches {self.spec.pattern!r}; nothing was written "
                f"to {self.spec.into} (the glob is relative to the repository's top level: "
                "check it, quoted, or wait for the segments)")

    def summary(self) -> list[str]:
        if not self.segments:
            return []
        done = f"committed as {self.commit[:10]}" if self.commit else "unchanged"
        lines = [f"collected {len(self.collected())} of {counted(len(self.segments), 'segment')}"
                 f" ({counted(self.items(), 'item')}) into {self.spec.into}: {done}"]
        lines += [f"left out: {s.named()}: {s.reason}" for s in self.left_out()]
        return lines

    def as_json(self) -> dict[str, Any]:
        schema = self.spec.schema
        return {"pattern": self.spec.pattern, "into": self.spec.into, "key": self.spec.key,
                "schema": str(schema.path) if schema else None, "branch": self.branch,
                "commit": self.commit, "items": self.items(),
                "collected": len(self.collected()), "left_out": len(self.left_out()),
                "segments": [{"path": s.path, "workstream": s.workstream, "branch": s.branch,
                              "collected": s.reason is None, "items": s.items,
                              "reason": s.reason} for s in self.segments]}



def collect(paths: FeaturePaths, wanted: Spec) -> Collection:
    lock = try_lock(paths.lock("integrate"), f"feature '{paths.feature}' is busy: another "
                    "'dispatch integrate' is running", "wait for it to finish")
    try:
        return _collect(StateStore(paths), wanted)
    finally:
        lock.release()


def _collect(store: StateStore, wanted: Spec) -> Collection:
    root, state = store.paths.root, store.load()
    integration = state.integration
    assert integration is not None, "collect runs after the merges"
    head = refs.branch_commit(root, integration.branch)
    if head is None:
        raise DispatchError(f"the integration branch {integration.branch} is gone; run "
                            "dispatch integrate again")
    entries = objects.files(root, head)
    _expect_room(entries, wanted.into, integration.branch)
    regex = collect_paths.glob_regex(wanted.pattern)
    found = sorted((e for e in entries if collect_paths.matches(regex, e.path)
                    and e.path != wanted.into), key=lambda e: e.path)
    collection = Collection(wanted, integration.branch)
    if not found:
        return collection
    sources = _sources(root, state, head, {e.path for e in found})
    collection.segments, parts = _read(root, found, sources, state, wanted.schema)
    combined = combine.combine(parts, wanted.key, _namer(collection.segments))
    for segment in collection.segments:
        segment.items = combined.items.get(segment.path, 0)
        segment.reason = segment.reason or combined.left_out.get(segment.path)
    text = json.dumps(combined.value, indent=2, ensure_ascii=False) + "\n"
    collection.commit = _write(store, integration, head, entries, text, collection)
    return collection


def _expect_room(entries: list[objects.Entry], into: str, branch: str) -> None:
    """The output path must be a file (or nothing yet) in the integration branch."""
    parents = {into.rsplit("/", n)[0] for n in range(1, into.count("/") + 1)}
    for entry in entries:
        if entry.path.startswith(into + "/"):
            raise DispatchError(f"--into {into} is a folder in {branch}; name a file")
        if entry.path in parents:
            raise DispatchError(f"--into {into} cannot be written: {entry.path} is a file in "
                                f"{branch}; name another path")


def _sources(root: Path, state: FeatureState, head: str, wanted: set[str]) -> dict[str, str]:
    """For each segment path, the workstream whose merge last changed it on the first-parent
    line of the integration branch (absent: none did, it came with the base)."""
    assert state.integration is not None
    by_commit = {r.commit: name for name, r in state.integration.merges.items()
                 if r.status == "merged" and r.reason is None and r.commit}
    line = [(c.sha, c.subject) for c in history.first_parent_log(root, state.base, head)]
    changes = history.first_parent_changes(root, state.base, head, {c for c, _ in line})
    found: dict[str, str] = {}
    for commit, subject in line:
        name = by_commit.get(commit) or _merged_name(subject, state)
        for path in wanted.intersection(changes.get(commit, ())):
            if name is None:
                found.pop(path, None)
            else:
                found[path] = name
    return found


def _merged_name(subject: str, state: FeatureState) -> str | None:
    """The workstream an earlier merge of dispatch's names (its record has moved on since:
    the branch was merged again, or its new tip conflicts)."""
    match = foreign.MERGE_SUBJECT.fullmatch(subject)
    return match[1] if match and match[1] in state.workstreams else None


def _read(root: Path, found: list[objects.Entry], sources: dict[str, str], state: FeatureState,
          schema: segment_schema.Schema | None) -> tuple[list[Segment], list[combine.Part]]:
    """Every segment, with the reason it cannot be used; and the valid ones' values."""
    reasons = {e.path: _unusable(e) for e in found}
    blobs = objects.read_blobs(root, sorted({e.sha for e in found if reasons[e.path] is None}))
    segments, parts = [], []
    for entry in found:
        name = sources.get(entry.path)
        record = state.workstreams.get(name) if name else None
        segment = Segment(entry.path, name, record.branch if record else None,
                          reason=reasons[entry.path])
        segments.append(segment)
        if segment.reason is None:
            value, segment.reason = _checked(blobs[entry.sha], schema)
            if segment.reason is None:
                parts.append(combine.Part(entry.path, value))
    return segments, parts


def _checked(data: bytes, schema: segment_schema.Schema | None) -> tuple[Any, str | None]:
    """(the segment's value, None), or (None, why it is not valid)."""
    try:
        value = segment_json.parse(data)
    except segment_json.InvalidSegment as exc:
        return None, str(exc)
    return value, segment_schema.problem(schema, value) if schema is not None else None


def _unusable(entry: objects.Entry) -> str | None:
    if entry.mode == _SUBMODULE or entry.kind != "blob":
        return "a submodule, not a file"
    if entry.mode == _SYMLINK:
        return "a symbolic link, not a file"
    return segment_json.too_big(entry.size or 0)


def _namer(segments: list[Segment]) -> Callable[[str], str]:
    by_path = {s.path: s for s in segments}
    return lambda path: by_path[path].named()


def _write(store: StateStore, integration: IntegrationState, head: str,
           entries: list[objects.Entry], text: str, collection: Collection) -> str | None:
    """Commit the output on the integration branch unless it is already there; the commit."""
    root, into = store.paths.root, collection.spec.into
    blob = objects.write_blob(root, text.encode("utf-8"))
    if any(e.path == into and e.sha == blob and e.mode == objects.REGULAR_FILE
           for e in entries):
        return None
    tree = objects.tree_with_file(root, head, into, blob)
    commit = merges.commit_tree(root, tree, [head], (
        f"Collect {collection.spec.pattern} into {into}\n\n{len(collection.collected())} of "
        f"{counted(len(collection.segments), 'segment')} collected (INTEGRATION.md names the "
        "others)."))
    # Recorded first, like the merges' fast-forward: one cut short is undone by the next run.
    store.update(partial(_set_advancing, target=commit))
    checkout.advance(store.paths.root / integration.path, commit)
    store.update(partial(_set_advancing, target=None))
    return commit


def _set_advancing(state: FeatureState, target: str | None) -> None:
    assert state.integration is not None
    state.integration.advancing = target
