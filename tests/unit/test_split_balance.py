"""How `dispatch split` cuts files into groups: every file in exactly one group, groups
within one file's worth of each other (`--by file`), the same cut for the same input, and
a file's items kept together under its most frequent rule (`--by rule`)."""

from __future__ import annotations

import random

import pytest

from dispatch.commands.split.balance import cut, dominant_label
from dispatch.commands.split.items import FileWork, Item


def _files(weights: list[int], rules: list[str] | None = None) -> list[FileWork]:
    rules = rules or ["R1"] * len(weights)
    return [FileWork(f"src/f{n:03}.py", [Item(f"src/f{n:03}.py", line, rules[n], "error")
                                         for line in range(1, weight + 1)])
            for n, weight in enumerate(weights)]


@pytest.mark.parametrize("seed", range(40))
def test_a_cut_by_file_is_disjoint_complete_and_within_one_file(seed: int) -> None:
    chance = random.Random(seed)
    weights = [chance.choice([1, 1, 2, 3, 5, 8, 13, 40]) for _ in range(chance.randint(1, 60))]
    into = chance.randint(1, 12)
    groups = cut(_files(weights), into, "file")
    paths = [f.path for g in groups for f in g.files]
    assert sorted(paths) == sorted(f.path for f in _files(weights))  # each file once
    assert len(groups) == min(into, len(weights)) and all(g.files for g in groups)
    sizes = [g.weight for g in groups]
    assert max(sizes) - min(sizes) <= max(weights)
    assert [[f.path for f in g.files] for g in cut(_files(weights), into, "file")] == \
        [[f.path for f in g.files] for g in groups]  # deterministic


def test_a_cut_by_file_is_as_even_as_whole_files_allow() -> None:
    sizes = [g.weight for g in cut(_files([5, 5, 4, 3, 3, 3, 1]), 3, "file")]
    assert sorted(sizes) == [8, 8, 8]


def test_fewer_files_than_groups_gives_one_group_per_file() -> None:
    groups = cut(_files([3, 1]), 5, "file")
    assert [[f.path for f in g.files] for g in groups] == [["src/f000.py"], ["src/f001.py"]]


def test_a_cut_by_dir_keeps_each_folder_whole() -> None:
    files = [FileWork(path, size=10) for path in
             ("a/x.py", "a/y.py", "b/x.py", "b/sub/z.py", "c.py")]
    groups = cut(files, 2, "dir")
    folders = [{f.path.rsplit("/", 1)[0] if "/" in f.path else "." for f in g.files}
               for g in groups]
    assert [sorted(f) for f in folders] == [[".", "a"], ["b", "b/sub"]]
    assert [g.weight for g in groups] == [30, 20]


def test_a_file_goes_to_the_group_of_its_most_frequent_rule() -> None:
    mixed = FileWork("m.py", [Item("m.py", 1, "E501"), Item("m.py", 2, "F401"),
                              Item("m.py", 3, "F401")])
    tie = FileWork("t.py", [Item("t.py", 1, "W1"), Item("t.py", 2, "E9")])
    assert (dominant_label(mixed, "rule"), dominant_label(tie, "rule")) == ("F401", "E9")
    levels = FileWork("s.py", [Item("s.py", 1, severity="warning"),
                               Item("s.py", 2, severity="error")])
    assert dominant_label(levels, "severity") == "error"


def test_a_cut_by_rule_shares_workstreams_by_weight_and_keeps_files_whole() -> None:
    rules = ["F401"] * 6 + ["E501"] * 2
    groups = cut(_files([4, 4, 4, 4, 4, 4, 1, 1], rules), 4, "rule")
    assert [(g.labels, g.part, g.weight) for g in groups] == [
        (["F401"], (1, 3), 8), (["F401"], (2, 3), 8), (["F401"], (3, 3), 8),
        (["E501"], None, 2)]
    assert sorted(f.path for g in groups for f in g.files) == [f"src/f{n:03}.py"
                                                               for n in range(8)]


def test_more_rules_than_groups_packs_whole_rules() -> None:
    rules = ["A1", "B1", "C1", "D1", "E1"]
    groups = cut(_files([5, 4, 3, 2, 1], rules), 2, "rule")
    assert [(g.labels, g.weight) for g in groups] == [(["A1", "D1", "E1"], 8),
                                                      (["B1", "C1"], 7)]
