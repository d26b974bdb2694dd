"""Dependency text -> workstream names; cycle detection; overlapping file ownership."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import dataclass

_RANGE = re.compile(r"\b(\d+)\s*(?:-|–|—|\.\.|to|through)\s*(\d+)\b")
_NUMBER = re.compile(r"\b\d+\b")
_REF_WORD = re.compile(r"\b(?:work\s*)?streams?\b|\bws\b|#\d", re.IGNORECASE)
# Specs that number their workstreams "Team N" or "Phase N" refer to them that way too; only
# that one word counts, so "after Phase 1" in a spec of streams is not stream 1.
_UNIT_WORDS = {unit: re.compile(rf"\b{unit}s?\b", re.IGNORECASE)
               for unit in ("team", "track", "agent", "phase")}
# What is left of a pure list of numbers once the numbers are gone: "After 1, 2 and 3".
_NUMBERS_ONLY = re.compile(
    r"^(?:[\s,;&#.()]|\b(?:and|or|to|through|after|depends on|requires|needs|both)\b|[-–—])*$",
    re.IGNORECASE)
_NO_DEPENDENCY = re.compile(
    r"^\W*(?:none|n/?a|no|nothing|-|independent|parallel)\W*$|immediately|no dependenc|"
    r"independent|can start (?:now|right away|in parallel)", re.IGNORECASE)
_BACKTICKED = re.compile(r"`([^`]+)`")


@dataclass(frozen=True)
class Candidate:
    name: str
    title: str
    number: int


class UnknownReference(ValueError):
    pass


def resolve(text: str, others: list[Candidate], unit: str = "stream") -> list[str]:
    """The workstreams a dependency text names, in spec order; [] for 'none' or free text.

    `unit` is the word the spec numbers its workstreams with ("stream", "team", "phase"...).
    Raises UnknownReference for a number or a `backticked` name that matches no workstream.
    """
    numbers = _numbers(text, unit)
    if numbers is not None:
        by_number = {c.number: c.name for c in others}
        unknown = [n for n in numbers if n not in by_number]
        if unknown:
            raise UnknownReference(f"workstream {unknown[0]}")
        return _ordered([by_number[n] for n in numbers], others)
    named = [c.name for c in others if _mentions(text, c)]
    for quoted in _BACKTICKED.findall(text):
        if not any(_same(quoted, c) for c in others):
            raise UnknownReference(f"`{quoted}`")
    return _ordered(named, others)


def is_no_dependency(text: str) -> bool:
    return bool(_NO_DEPENDENCY.search(text))


def _numbers(text: str, unit: str) -> list[int] | None:
    """Numbers referenced by the text, or None when it does not refer by number."""
    without_ranges = _RANGE.sub(" ", text)
    by_word = _REF_WORD.search(text) or (unit in _UNIT_WORDS and _UNIT_WORDS[unit].search(text))
    if not (by_word or _NUMBERS_ONLY.match(_NUMBER.sub(" ", without_ranges))):
        return None
    found: list[int] = []
    for low, high in _RANGE.findall(text):
        found.extend(range(int(low), int(high) + 1))
    found.extend(int(n) for n in _NUMBER.findall(without_ranges))
    return found or None


def _mentions(text: str, candidate: Candidate) -> bool:
    lowered = text.lower()
    return any(re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", lowered)
               for word in {candidate.name, candidate.title.lower()} if word)


def _same(quoted: str, candidate: Candidate) -> bool:
    return quoted.strip().lower() in (candidate.name, candidate.title.lower())


def _ordered(names: list[str], others: list[Candidate]) -> list[str]:
    wanted = set(names)
    return [c.name for c in others if c.name in wanted]


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A dependency cycle as [a, b, ..., a], or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in graph:
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def patterns_overlap(a: str, b: str) -> bool:
    """Whether two owned paths or globs can name the same file (`app/**` vs `app/cli/x.py`)."""
    a, b = a.strip("/"), b.strip("/")
    if a == b or fnmatch.fnmatchcase(a, b) or fnmatch.fnmatchcase(b, a):
        return True
    # A plain directory owns everything under it.
    return b.startswith(a + "/") or a.startswith(b + "/")


_GLOB = re.compile(r"[*?\[]")


def overlapping(first: list[str], second: list[str]) -> list[tuple[str, str]]:
    """Every pair (a of `first`, b of `second`) that `patterns_overlap`, found without
    comparing each plain path with each other one: a split's workstreams own thousands of
    plain paths, and two plain paths overlap only when equal or one is a folder above the
    other (looked up in a set). Globs are still compared pair by pair."""
    plain_a = _by_key(p for p in first if not _GLOB.search(p))
    plain_b = _by_key(p for p in second if not _GLOB.search(p))
    found = [(a, b) for key, names in plain_a.items() for a in names
             for above in (*_folders_above(key), key) for b in plain_b.get(above, [])]
    found += [(a, b) for key, names in plain_b.items() for b in names
              for above in _folders_above(key) for a in plain_a.get(above, [])]
    globs_a = [a for a in first if _GLOB.search(a)]
    globs_b = [b for b in second if _GLOB.search(b)]
    found += [(a, b) for a in globs_a for b in second if patterns_overlap(a, b)]
    found += [(a, b) for names in plain_a.values() for a in names for b in globs_b
              if patterns_overlap(a, b)]
    return found


def _by_key(paths: Iterable[str]) -> dict[str, list[str]]:
    keyed: dict[str, list[str]] = {}
    for path in paths:
        keyed.setdefault(path.strip("/"), []).append(path)
    return keyed


def _folders_above(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:n]) for n in range(1, len(parts))]
