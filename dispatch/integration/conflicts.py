"""Conflict prediction before anything merges (`dispatch check`, and integrate's first step).

Every pair of workstream branches, and each branch against the base's current tip, is merged
in memory with `git merge-tree --write-tree`: no worktree is touched. Each branch's changed
files are also compared with the paths its workstream owns.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

from dispatch.core.parallel import parallel_map
from dispatch.gitops import history, merges
from dispatch.workspace.workfiles import WORK_DIR


@dataclass(frozen=True)
class Branch:
    name: str  # the workstream
    tip: str
    owned: tuple[str, ...] = ()
    start: str | None = None  # where its own work begins (after its dependencies' merges)


@dataclass
class Prediction:
    base: str
    base_label: str
    pairs: dict[tuple[str, str], list[str]] = field(default_factory=dict)  # conflicts only
    against_base: dict[str, list[str]] = field(default_factory=dict)  # conflicts only
    out_of_scope: dict[str, list[str]] = field(default_factory=dict)
    changed: dict[str, list[str]] = field(default_factory=dict)
    unmergeable: dict[str, str] = field(default_factory=dict)  # branch -> why it cannot merge

    def conflicts_of(self, name: str) -> dict[str, list[str]]:
        found = {b if a == name else a: files for (a, b), files in self.pairs.items()
                 if name in (a, b)}
        if name in self.against_base:
            found["(base)"] = self.against_base[name]
        return found

    def as_json(self) -> dict[str, Any]:
        return {"base": self.base, "base_label": self.base_label,
                "pairs": [{"a": a, "b": b, "files": files}
                          for (a, b), files in self.pairs.items()],
                "against_base": self.against_base, "out_of_scope": self.out_of_scope,
                "unmergeable": self.unmergeable}


def predict(root: Path, base: str, base_tip: str, base_label: str,
            branches: list[Branch]) -> Prediction:
    prediction = Prediction(base=base_tip, base_label=base_label)
    # What each branch changed since the base (for the pairs) and since its own start (what
    # it brings): the same diff unless it started elsewhere, so asked once then.
    ranges = list({(start, b.tip) for b in branches for start in (base, b.start or base)})
    diffs = dict(zip(ranges, parallel_map(lambda r: history.changed_files(root, *r), ranges,
                                          threads=4), strict=True))
    touched = {b.name: _touched(diffs[base, b.tip]) for b in branches}
    # Only branches that touch a common path (or a file where the other has a folder) can
    # conflict: the quadratic part of the matrix shrinks to the pairs worth a merge-tree.
    pairs = [(a, b) for a, b in combinations(branches, 2)
             if touched[a.name][0] & (touched[b.name][0] | touched[b.name][1])
             or touched[b.name][0] & touched[a.name][1]]
    results = parallel_map(lambda pair: merges.merge_tree(root, pair[0].tip, pair[1].tip)[1],
                           pairs, threads=4)
    prediction.pairs = {(a.name, b.name): files for (a, b), files in zip(pairs, results,
                                                                         strict=True) if files}
    if base_tip != base:
        against = parallel_map(lambda br: merges.merge_tree(root, base_tip, br.tip)[1], branches,
                               threads=4)
        prediction.against_base = {br.name: files for br, files in zip(branches, against,
                                                                       strict=True) if files}
    for branch in branches:
        changed = [f for f in diffs[branch.start or base, branch.tip]
                   if not f.startswith(WORK_DIR + "/")]
        prediction.changed[branch.name] = changed
        if branch.owned:
            outside = [f for f in changed if not owned_by(f, branch.owned)]
            if outside:
                prediction.out_of_scope[branch.name] = outside
    return prediction


def _touched(paths: list[str]) -> tuple[set[str], set[str]]:
    """(the paths, and every folder above them)."""
    folders = {"/".join(p.split("/")[:i]) for p in paths for i in range(1, p.count("/") + 1)}
    return set(paths), folders


def owned_by(path: str, patterns: tuple[str, ...]) -> bool:
    """Whether a changed file falls under an owned path, directory or glob."""
    for pattern in patterns:
        clean = pattern.strip("/")
        if path == clean or path.startswith(clean + "/") or fnmatch.fnmatchcase(path, clean):
            return True
        if clean.endswith("/**") and path.startswith(clean[:-3] + "/"):
            return True
    return False
