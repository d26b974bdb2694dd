"""The plans of the project's own specs stay exactly what they were before issue 16.

The expected files are `dispatch plan --json` as printed by the parser before the spec
grammar learnt the shapes of issue 16 (spec paths made relative to the repository). Every
field they hold must keep its value; fields added to the plan since (issue 16's `notes`, and
others' such as `allow_setup_failure`) are new, not changes, and are compared only where
issue 16 says what they must be: no notes. The warnings changed shape (then plain strings,
now `{"line", "message"}`): their messages count.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dispatch.spec.parse import parse_spec
from dispatch.spec.view import plan_json
from tests.support.paths import REPO_ROOT

HERE = Path(__file__).parent / "spec_compat"
SPECS = {
    "2026_11_22_09_00_00_plugin_system": REPO_ROOT / "specs/2026_11_22_09_00_00_plugin_system.md",
    "sample": REPO_ROOT / "dispatch/resources/sample/spec.md",
}


def test_every_spec_of_the_repository_has_an_expected_plan() -> None:
    specs = {p.resolve() for p in (REPO_ROOT / "specs").glob("*.md")}
    assert specs <= {p.resolve() for p in SPECS.values()}, "add its plan to spec_compat/"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_plan_is_unchanged(name: str) -> None:
    expected = json.loads((HERE / f"{name}.plan.json").read_text())
    actual = plan_json(parse_spec(SPECS[name]))
    assert comparable(actual, expected) == comparable(expected, expected)
    assert [ws["notes"] for ws in actual["workstreams"]] == [[]] * len(expected["workstreams"])


def comparable(data: dict[str, Any], keys: dict[str, Any]) -> dict[str, Any]:
    """`data` with only the fields that `keys` (the expected plan) has."""
    spec = REPO_ROOT / data["spec"]  # absolute when parsed now, relative in the files
    data = {key: data[key] for key in keys}
    data["spec"] = spec.resolve().relative_to(REPO_ROOT).as_posix()
    wanted = set(keys["workstreams"][0])
    data["workstreams"] = [{k: v for k, v in ws.items() if k in wanted}
                           for ws in data["workstreams"]]
    data["warnings"] = [w if isinstance(w, str) else w["message"] for w in data["warnings"]]
    return data
