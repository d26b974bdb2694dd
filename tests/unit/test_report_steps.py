"""The next steps INTEGRATION.md suggests are commands a person pastes into a shell: a
worker's file names and a verify command with backticks must neither run nor break the
markdown code span around them."""

from __future__ import annotations

import shlex

import pytest

from dispatch.integration.report import _code, _resume


@pytest.mark.parametrize("prompt", [
    "After merging, the verify command `pytest -q` fails; fix it",
    "resolve the conflicts in $(touch pwned).py, a\"b.txt, it's.md",
])
def test_a_suggested_resume_pastes_as_one_argument(prompt: str) -> None:
    command = _resume("web", prompt)
    assert shlex.split(command) == ["dispatch", "resume", "web", "--prompt", prompt]


@pytest.mark.parametrize(("text", "span"), [
    ("dispatch integrate x", "`dispatch integrate x`"),
    ("echo 'a `b` c'", "``echo 'a `b` c'``"),
    ("`starts", "`` `starts ``"),
])
def test_a_code_span_holds_any_backticks(text: str, span: str) -> None:
    assert _code(text) == span
