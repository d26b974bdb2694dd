"""`dispatch status` reads sessions.json as plain JSON (no pydantic, for speed): its copy of
the format must stay the state model's."""

from __future__ import annotations

import re

from dispatch.commands.status import collect
from dispatch.state import model
from dispatch.state.plan import Plan
from tests.support.paths import REPO_ROOT

STATUS_CODE = [REPO_ROOT / "dispatch/commands/status" / name
               for name in ("collect.py", "view.py", "show.py")]


def test_the_schema_version_is_the_models() -> None:
    assert collect.SCHEMA_VERSION == model.SCHEMA_VERSION


def test_the_record_keys_it_requires_are_fields_of_a_record() -> None:
    assert collect.RECORD_KEYS <= set(model.SessionRecord.model_fields)


def test_every_key_it_reads_from_a_record_is_required_or_defaulted() -> None:
    """`record["x"]` would raise on a file without x: each must be in RECORD_KEYS (checked
    by `_shaped` before status trusts the file)."""
    read = set()
    for path in STATUS_CODE:
        read |= set(re.findall(r"\b(?:record|r)\[\"(\w+)\"\]", path.read_text()))
    assert read, "the pattern found nothing: the test would prove nothing"
    assert read <= collect.RECORD_KEYS | {"setup"}, read - collect.RECORD_KEYS
    assert read <= set(model.SessionRecord.model_fields)


def test_a_record_written_by_the_model_is_accepted_as_shaped() -> None:
    plan = Plan(feature="f", title="f", spec="s.md", workstreams=[])
    state = model.FeatureState(feature="f", base="0" * 40, plan=plan, workstreams={
        "a": model.SessionRecord(name="a", branch="f/a", path=".worktrees/f/a")})
    assert collect.is_shaped(state.model_dump(mode="json"))
