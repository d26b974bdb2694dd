"""The pure parts of `integrate --collect`: the glob, the path checks, reading one segment,
combining segments, and git's ls-tree output; table-driven, no repository needed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dispatch.core.errors import DispatchError
from dispatch.gitops.objects import Entry, parse_ls_tree_long
from dispatch.integration import collect_paths, segment_json
from dispatch.integration.combine import Part, combine, equal


@pytest.mark.parametrize(("pattern", "path", "expected"), [
    ("staging/*.json", "staging/a.json", True),
    ("staging/*.json", "staging/sub/a.json", False),  # `*` never crosses a folder
    ("staging/*.json", "staging/a.json.bak", False),  # the whole path must match
    ("staging/*.json", "other/staging/a.json", False),
    ("staging/**/*.json", "staging/a.json", True),  # `**/` is zero or more folders
    ("staging/**/*.json", "staging/x/y/a.json", True),
    ("**/*.json", "a.json", True),
    ("staging/**", "staging/x/y", True),
    ("seg-?.json", "seg-1.json", True),
    ("seg-?.json", "seg-10.json", False),
    ("a?b", "a/b", False),
    ("seg-[0-9].json", "seg-7.json", True),
    ("seg-[!0-9].json", "seg-7.json", False),
    ("seg-[!0-9].json", "seg-x.json", True),
    ("seg-[]].json", "seg-].json", True),  # a leading ] is a member of the class
    ("seg-[.json", "seg-[.json", True),  # an unclosed [ is itself
    ("seg-\\*.json", "seg-*.json", True),
    ("seg-\\*.json", "seg-1.json", False),
    ("a.b", "axb", False),  # regex characters are literal
])
def test_glob(pattern: str, path: str, expected: bool) -> None:
    assert collect_paths.matches(collect_paths.glob_regex(pattern), path) is expected


@pytest.mark.parametrize(("into", "expected"), [
    ("public/merged.json", "public/merged.json"),
    ("./public//merged.json", "public/merged.json"),
    ("{root}/public/merged.json", "public/merged.json"),
])
def test_into_inside_the_repository(tmp_path: Path, into: str, expected: str) -> None:
    assert collect_paths.check_into(tmp_path, into.format(root=tmp_path)) == expected


@pytest.mark.parametrize(("into", "message"), [
    ("../merged.json", "--into '../merged.json' reaches outside the repository; name a path "
                       "relative to its top level, without '..'"),
    ("public/../../merged.json", "--into 'public/../../merged.json' reaches outside the "
                                 "repository; name a path relative to its top level, without "
                                 "'..'"),
    ("/elsewhere/merged.json", "--into '/elsewhere/merged.json' is outside the repository "
                               "{root}; name a path inside it, e.g. --into public/merged.json"),
    (".git/merged.json", "--into '.git/merged.json' is inside .git, git's own folder; name a "
                         "path in the repository's files"),
    ("sub/.GIT/hooks/post-merge", "--into 'sub/.GIT/hooks/post-merge' is inside .git, git's "
                                  "own folder; name a path in the repository's files"),
    (".worktrees/f/x.json", "--into '.worktrees/f/x.json' is inside .worktrees/, dispatch's "
                            "own folder; name a path in the repository's files"),
    (".", "--into '.' names the repository itself; name a path in it, e.g. "
          "public/merged.json"),
    ("", "--into '' is not a path; name one relative to the repository's top level, e.g. "
         "staging/*.json"),
])
def test_into_refused(tmp_path: Path, into: str, message: str) -> None:
    with pytest.raises(DispatchError) as refused:
        collect_paths.check_into(tmp_path, into)
    assert refused.value.message == message.format(root=tmp_path)


def test_glob_refused_outside_the_repository() -> None:
    with pytest.raises(DispatchError) as refused:
        collect_paths.check_glob("/srv/*.json")
    assert refused.value.message == ("--collect '/srv/*.json' reaches outside the repository; "
                                     "name a path relative to its top level, without '..'")
    assert collect_paths.check_glob("./staging/*.json") == "staging/*.json"


@pytest.mark.parametrize(("data", "value"), [
    (b'[1, "two", {"three": 3.5}]', [1, "two", {"three": 3.5}]),
    (b'\xef\xbb\xbf{"a": []}', {"a": []}),  # a byte-order mark is allowed
    (b'["\\ud83d\\ude00"]', ["\U0001f600"]),  # a surrogate pair is one character
    (b"[" * 128 + b"]" * 128, json.loads("[" * 128 + "]" * 128)),  # at the depth limit
])
def test_segment_json_valid(data: bytes, value: Any) -> None:
    assert segment_json.parse(data) == value


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "not valid JSON: Expecting value (line 1, column 1)"),
    (b'[{"id": 1},', "not valid JSON: Expecting value (line 1, column 12)"),
    (b"\xff[]", "not UTF-8 text (byte 0 is invalid)"),
    (b"[NaN]", "not valid JSON: NaN is not a JSON value"),
    (b"[-Infinity]", "not valid JSON: -Infinity is not a JSON value"),
    (b"[1e999]", "not valid JSON: the number 1e999 is too large for a 64-bit float"),
    (b'{"a": 1, "a": 2}', 'not valid JSON: an object names the key "a" twice'),
    (b"[" + b"9" * 5000 + b"]", "not valid JSON: Exceeds the limit (4300 digits) for integer "
                                "string conversion: value has 5000 digits"),
    (b'["\\ud800"]', "a lone surrogate (a \\ud800-\\udfff escape without its pair): not text "
                     "any UTF-8 file can hold"),
    (b'{"\\udc00": 1}', "a lone surrogate (a \\ud800-\\udfff escape without its pair): not "
                        "text any UTF-8 file can hold"),
    (b"[" * 129 + b"]" * 129, "nested deeper than 128 levels"),  # read, then measured
    (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 128 levels"),  # past Python's stack
    (b'{"a": ' * 100_000 + b"1" + b"}" * 100_000, "nested deeper than 128 levels"),
])
def test_segment_json_invalid(data: bytes, reason: str) -> None:
    with pytest.raises(segment_json.InvalidSegment) as invalid:
        segment_json.parse(data)
    assert str(invalid.value) == reason


def test_segment_size_limit() -> None:
    assert segment_json.too_big(segment_json.MAX_BYTES) is None
    assert segment_json.too_big(segment_json.MAX_BYTES + 1) == (
        "64.0 MiB, over the 64 MiB a segment may hold (split it into smaller files)")


def parts(**values: Any) -> list[Part]:
    return [Part(f"s/{name}.json", value) for name, value in values.items()]


def test_arrays_concatenated_in_path_order() -> None:
    combined = combine(parts(b=[3], a10=[1], a2=[2], B=[0], o={"x": 1}, e=[]), None)
    assert combined.value == [0, 1, 2, 3]  # code point order: B, a10, a2, b
    assert combined.items == {"s/B.json": 1, "s/a10.json": 1, "s/a2.json": 1, "s/b.json": 1,
                              "s/e.json": 0}
    assert combined.left_out == {"s/o.json": "an object, not an array (without --key every "
                                              "segment is an array; pass --key NAME to merge "
                                              "objects by a key)"}


def test_records_merged_by_key() -> None:
    combined = combine(parts(
        a=[{"id": 1, "v": "a"}, {"id": "1", "v": "string key"}],
        b={"v": "a", "id": 1},  # one record; equal to a's (member order aside): no clash
        c=[{"id": 2, "v": "c"}, {"id": 1, "v": "A"}],  # 1 differs: the whole segment is out
        d=[{"id": 3, "v": "d"}, {"id": 3, "v": "d"}],  # a duplicate inside one segment
        e=[{"id": 4, "n": 1}],
        f=[{"id": 4, "n": 1.0}],  # 1.0 is not 1 (Python's == would say it is)
        g=[{"id": 5, "n": True}],
        h=[{"id": 5, "n": 1}],  # nor is true
    ), "id", name=lambda path: f"{path} (its branch)")
    assert combined.value == [{"id": 1, "v": "a"}, {"id": "1", "v": "string key"},
                              {"id": 3, "v": "d"}, {"id": 4, "n": 1}, {"id": 5, "n": True}]
    assert combined.items == {"s/a.json": 2, "s/b.json": 0, "s/d.json": 1, "s/e.json": 1,
                              "s/g.json": 1}
    assert combined.left_out == {
        "s/c.json": "id 1 is also in s/a.json (its branch) with a different value",
        "s/f.json": "id 4 is also in s/e.json (its branch) with a different value",
        "s/h.json": "id 5 is also in s/g.json (its branch) with a different value"}
    assert combined.clashes_with == {"s/c.json": "s/a.json", "s/f.json": "s/e.json",
                                     "s/h.json": "s/g.json"}


@pytest.mark.parametrize(("value", "reason"), [
    ("text", "a string, not an object or an array of objects (as --key id needs)"),
    ([{"id": 1}, 7], "item 2 is a number, not an object with 'id'"),
    ([{"name": "x"}], "item 1 has no 'id'"),
    ([{"id": None}], "item 1's 'id' is null; a key is a string or an integer"),
    ([{"id": True}], "item 1's 'id' is true; a key is a string or an integer"),
    ([{"id": 1.5}], "item 1's 'id' is a number; a key is a string or an integer"),
    ([{"id": 1, "v": 1}, {"id": 1, "v": 2}], "items 1 and 2 both have id 1 with different "
                                             "values"),
])
def test_records_refused(value: Any, reason: str) -> None:
    assert combine([Part("s.json", value)], "id").left_out == {"s.json": reason}


def test_equal_ignores_member_order_only() -> None:
    assert equal({"a": 1, "b": [1, 2]}, {"b": [1, 2], "a": 1})
    assert not equal([1, 2], [2, 1])


def test_parse_ls_tree_long() -> None:
    text = ("100644 blob aaaa     12\tstaging/a b.json\0"
            "120000 blob bbbb      9\tstaging/link.json\0"
            "160000 commit cccc       -\tvendor/lib\0"
            "100755 blob dddd 104857600\tstaging/tab\there.json\0")
    assert parse_ls_tree_long(text) == [
        Entry("staging/a b.json", "100644", "blob", "aaaa", 12),
        Entry("staging/link.json", "120000", "blob", "bbbb", 9),
        Entry("vendor/lib", "160000", "commit", "cccc", None),
        Entry("staging/tab\there.json", "100755", "blob", "dddd", 104857600),
    ]
