"""The plans of the project's own specs stay exactly what they were before issue 16.

The expected files are `dispatch plan --json` as printed by the parser before the spec
grammar learnt the shapes of issue 16 (spec paths made relative to the repository). Only
what that change added on purpose is ignored: an empty `notes` list on each workstream, and
the warnings' shape (then plain strings, now `{"line", "message"}`): their messages count.
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
    assert comparable(plan_json(parse_spec(SPECS[name]))) == comparable(expected)


def comparable(data: dict[str, Any]) -> dict[str, Any]:
    spec = REPO_ROOT / data["spec"]  # absolute when parsed now, relative in the files
    data = {**data, "spec": spec.resolve().relative_to(REPO_ROOT).as_posix()}
    data["workstreams"] = [{k: v for k, v in ws.items() if not (k == "notes" and v == [])}
                           for ws in data["workstreams"]]
    data["warnings"] = [w if isinstance(w, str) else w["message"] for w in data["warnings"]]
    return data
