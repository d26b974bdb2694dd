"""Cutting the files of a work list into even groups, each file in exactly one.

The cut is by weight (a file's items, or its size for a plain list of files) and greedy:
the heaviest unit goes to the lightest group, ties broken by path and by group order, so the
same input always gives the same groups. Each group's last unit went to it when it was the
lightest, so no two groups differ by more than one unit's weight: with `--by file` that is
one file's worth, the best that groups of whole files can do.

`--by dir` keeps each folder's files together (units are folders). `--by rule` and
`--by severity` give each file to the group of its most frequent rule (or its most severe
level; ties go to the rule that sorts first), so a file's items stay together; each rule
then gets workstreams in proportion to its weight and its files are cut evenly among them.
With more rules than workstreams, whole rules are packed into the workstreams instead.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from dispatch.commands.split.items import FileWork, severity_rank

BY = ("file", "dir", "rule", "severity")


@dataclass
class Group:
    """The files one workstream will own; `labels` are its rules or levels (--by rule or
    severity), `part` says which of a label's groups it is (1 of 3)."""

    files: list[FileWork] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    part: tuple[int, int] | None = None

    @property
    def weight(self) -> int:
        return sum(f.weight for f in self.files)


def cut(files: list[FileWork], into: int, by: str) -> list[Group]:
    """At most `into` groups (fewer when there are fewer units), none empty."""
    if by in ("rule", "severity"):
        return _by_label(files, into, by)
    units = _units(files, by)
    return [Group(sorted(g, key=lambda f: f.path)) for g in _pack(units, into)]


def dominant_label(work: FileWork, by: str) -> str:
    """The rule a file has most of (or its most severe level)."""
    if by == "severity":
        levels = [item.severity or "unknown" for item in work.items] or ["unknown"]
        return min(levels, key=lambda level: (severity_rank(level), level))
    counts = Counter(item.rule or "other" for item in work.items) or Counter(["other"])
    return min(counts, key=lambda rule: (-counts[rule], rule))


def _units(files: list[FileWork], by: str) -> list[list[FileWork]]:
    if by == "file":
        return [[f] for f in files]
    folders: dict[str, list[FileWork]] = {}
    for f in files:
        folders.setdefault(str(PurePosixPath(f.path).parent), []).append(f)
    return list(folders.values())


def _pack(units: list[list[FileWork]], into: int) -> list[list[FileWork]]:
    """Largest first into the lightest bin; deterministic."""
    bins: list[list[FileWork]] = [[] for _ in range(min(into, len(units)))]
    loads = [0] * len(bins)
    for unit in sorted(units, key=lambda u: (-sum(f.weight for f in u), u[0].path)):
        lightest = min(range(len(bins)), key=lambda i: (loads[i], i))
        bins[lightest].extend(unit)
        loads[lightest] += sum(f.weight for f in unit)
    return bins


def _by_label(files: list[FileWork], into: int, by: str) -> list[Group]:
    labelled: dict[str, list[FileWork]] = {}
    for f in files:
        labelled.setdefault(dominant_label(f, by), []).append(f)
    order = sorted(labelled, key=lambda label: _label_key(label, labelled[label], by))
    if len(order) >= into:  # more rules than workstreams: whole rules packed together
        return _pack_labels(labelled, order, into)
    shares = _shares([sum(f.weight for f in labelled[label]) for label in order],
                     [len(labelled[label]) for label in order], into)
    groups = []
    for label, share in zip(order, shares, strict=True):
        parts = _pack([[f] for f in labelled[label]], share)
        for number, part in enumerate(parts, start=1):
            groups.append(Group(sorted(part, key=lambda f: f.path), [label],
                                (number, len(parts)) if len(parts) > 1 else None))
    return groups


def _label_key(label: str, files: list[FileWork], by: str) -> tuple[int, int, str]:
    if by == "severity":
        return severity_rank(label), 0, label
    return 0, -sum(f.weight for f in files), label


def _pack_labels(labelled: dict[str, list[FileWork]], order: list[str],
                 into: int) -> list[Group]:
    groups = [Group() for _ in range(into)]
    for label in sorted(order, key=lambda lb: (-sum(f.weight for f in labelled[lb]), lb)):
        lightest = min(range(into), key=lambda i: (groups[i].weight, i))
        groups[lightest].files.extend(labelled[label])
        groups[lightest].labels.append(label)
    for group in groups:
        group.files.sort(key=lambda f: f.path)
        group.labels.sort(key=order.index)
    return sorted(groups, key=lambda g: order.index(g.labels[0]))


def _shares(weights: list[int], limits: list[int], into: int) -> list[int]:
    """Workstreams per label: one each, then each next one to the label with the most weight
    per workstream (never more workstreams than the label has files)."""
    shares = [1] * len(weights)
    for _ in range(into - len(weights)):
        open_ = [i for i in range(len(weights)) if shares[i] < limits[i]]
        if not open_:
            break
        best = max(open_, key=lambda i: (weights[i] / shares[i], -i))
        shares[best] += 1
    return shares
