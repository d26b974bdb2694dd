"""Valid segments combined into one JSON array, in a stable order, with clashes named.

The order is that of the segments' paths, sorted by code point (as `LC_ALL=C sort` does),
then each segment's own order:

- without a key, every segment is an array and the output is their concatenation;
- with a key (`--key id`), every segment is an object (one record) or an array of objects,
  each holding the key as a string or an integer. The output holds each key once, where it
  first appears. A record whose key is already there with an equal value (the same JSON,
  object members in any order) is a duplicate and is dropped; with a different value it
  clashes, and its whole segment is left out: the first segment in path order keeps the
  key, and the later one is named with the one it clashes with. Nothing is overwritten.

A segment is taken whole or not at all, so a branch's work is never half-collected.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dispatch.integration.segment_json import InvalidSegment

Key = tuple[str, Any]  # ("s", "abc") or ("i", 7): the string "7" and the number 7 differ


@dataclass(frozen=True)
class Part:
    path: str
    value: Any  # a segment's JSON value, already read and checked


@dataclass
class Combined:
    value: list[Any] = field(default_factory=list)
    items: dict[str, int] = field(default_factory=dict)  # path -> items it put in the output
    left_out: dict[str, str] = field(default_factory=dict)  # path -> why
    clashes_with: dict[str, str] = field(default_factory=dict)  # path -> the earlier path


class _Clash(InvalidSegment):
    def __init__(self, reason: str, other: str) -> None:
        super().__init__(reason)
        self.other = other


def combine(parts: list[Part], key: str | None,
            name: Callable[[str], str] = str) -> Combined:
    """`name` says where a segment came from, in a clash's reason."""
    combined = Combined()
    taken: dict[Key, tuple[Any, str]] = {}  # key -> (the record in the output, its path)
    for part in sorted(parts, key=lambda p: p.path):
        try:
            items = _keyed(part, key, taken, name) if key is not None else _array(part.value)
        except InvalidSegment as exc:
            combined.left_out[part.path] = str(exc)
            if isinstance(exc, _Clash):
                combined.clashes_with[part.path] = exc.other
            continue
        combined.value.extend(items)
        combined.items[part.path] = len(items)
    return combined


def _array(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidSegment(f"{kind(value)}, not an array (without --key every segment is an "
                             "array; pass --key NAME to merge objects by a key)")
    return value


def _keyed(part: Part, key: str, taken: dict[Key, tuple[Any, str]],
           name: Callable[[str], str]) -> list[Any]:
    """The records of this segment that are new to the output (none is added on a clash)."""
    own: dict[Key, tuple[Any, int]] = {}
    new = []
    for index, record in enumerate(_records(part.value, key), 1):
        found = _key_of(record, key, index)
        if found in own:
            if not equal(own[found][0], record):
                raise InvalidSegment(f"items {own[found][1]} and {index} both have {key} "
                                     f"{_show(found)} with different values")
            continue
        own[found] = (record, index)
        if found in taken:
            earlier, path = taken[found]
            if not equal(earlier, record):
                raise _Clash(f"{key} {_show(found)} is also in {name(path)} with a different "
                             "value", path)
            continue
        new.append(record)
    for found, (record, _index) in own.items():
        taken.setdefault(found, (record, part.path))
    return new


def _records(value: Any, key: str) -> list[Any]:
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return value
    raise InvalidSegment(f"{kind(value)}, not an object or an array of objects (as --key "
                         f"{key} needs)")


def _key_of(record: Any, key: str, index: int) -> Key:
    if not isinstance(record, dict):
        raise InvalidSegment(f"item {index} is {kind(record)}, not an object with {key!r}")
    if key not in record:
        raise InvalidSegment(f"item {index} has no {key!r}")
    value = record[key]
    if isinstance(value, str):
        return ("s", value)
    if isinstance(value, int) and not isinstance(value, bool):
        return ("i", value)
    raise InvalidSegment(f"item {index}'s {key!r} is {kind(value)}; a key is a string or an "
                         "integer")


def equal(a: Any, b: Any) -> bool:
    """The same JSON, whatever the order of object members (and 1 is not true, nor 1.0:
    Python's == would say they are)."""
    return _canonical(a) == _canonical(b)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _show(found: Key) -> str:
    text = json.dumps(found[1], ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    names = {dict: "an object", list: "an array", str: "a string", int: "a number",
             float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)
