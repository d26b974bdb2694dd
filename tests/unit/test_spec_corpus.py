"""A corpus of spec documents in the shapes people and Claude write (issue 16).

Each `spec_corpus/NN_shape.md` says in its first comment which real-world habit it stands
for; `NN_shape.yaml` next to it is its expected plan, compactly:

    other_headings: 7          # headings that must not become workstreams
    workstreams:               # exactly these, in this order
      core: {number: 1, deps: [], tasks: 2, goal: "Start of the goal", files: [...],
             notes: [...]}     # number, files and notes default to "any", [] and []
    warnings: [[12, "start of the message"], [null, "..."]]   # exactly these

The count of headings left out is reported at the end of the test run (see
tests/support/corpus_report.py): "no heading that is not a workstream becomes one".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from dispatch.spec.explain import read_headings
from dispatch.spec.parse import parse_spec
from dispatch.state.plan import Workstream

CORPUS = Path(__file__).parent / "spec_corpus"
DOCUMENTS = sorted(CORPUS.glob("*.md"))


def test_the_corpus_is_complete() -> None:
    assert len(DOCUMENTS) >= 25
    assert sorted(CORPUS.glob("*.yaml")) == [d.with_suffix(".yaml") for d in DOCUMENTS]
    for document in DOCUMENTS:
        assert "<!-- habit: " in document.read_text(encoding="utf-8-sig"), document.name
    # Git must not have normalised the Windows spec's line endings (see .gitattributes).
    assert b"\r\n" in (CORPUS / "18_crlf_line_endings.md").read_bytes()


@pytest.mark.parametrize("document", DOCUMENTS, ids=[d.stem for d in DOCUMENTS])
def test_corpus_document(document: Path, record_property: Callable[[str, object], None]) -> None:
    expected = yaml.safe_load(document.with_suffix(".yaml").read_text())
    plan = parse_spec(document, display=document.name)
    assert [ws.name for ws in plan.workstreams] == list(expected["workstreams"])
    for ws in plan.workstreams:
        wanted = {"files": [], "notes": [], **expected["workstreams"][ws.name]}
        assert described(ws, wanted) == wanted, ws.name
    warnings = [[w.line, w.message] for w in plan.warnings]
    assert shortened(warnings, expected.get("warnings", [])) == expected.get("warnings", [])
    roles = Counter(reading.role for reading in read_headings(document, document.name))
    assert roles["workstream"] == len(plan.workstreams)  # --explain tells what parse did
    others = roles["field"] + roles["part"] + roles["prose"]
    assert others == expected["other_headings"]
    record_property("spec_corpus", {"workstreams": roles["workstream"], "prose": roles["prose"],
                                    "inside": roles["field"] + roles["part"]})


def described(ws: Workstream, wanted: dict[str, Any]) -> dict[str, Any]:
    """The workstream in the expected file's terms; its goal cut to the expected start."""
    actual = {"deps": ws.depends_on, "tasks": len(ws.tasks), "goal": ws.goal[: len(
        wanted["goal"])], "files": ws.files, "notes": ws.notes}
    return {**actual, "number": ws.number} if "number" in wanted else actual


def shortened(warnings: list[list[Any]], wanted: list[list[Any]]) -> list[list[Any]]:
    """Each warning's message cut to the length of the expected one at its place."""
    return [[line, message[: len(wanted[i][1])] if i < len(wanted) else message]
            for i, (line, message) in enumerate(warnings)]
