"""The spec corpus's count, printed at the end of a test run (issue 16 asks for it in the
output: "no heading that is not a workstream becomes one").

Each corpus test records its counts with `record_property("spec_corpus", {...})`; pytest-xdist
sends those properties back with the test's report, so the counting happens in the process
that prints the summary, from the reports of the tests that passed.
"""

from __future__ import annotations

from collections import Counter

import pytest

KEY = "spec_corpus"
_TEST = "test_spec_corpus.py::test_corpus_document"
_counts: Counter[str] = Counter()


def collect(report: pytest.TestReport) -> None:
    if report.when != "call" or _TEST not in report.nodeid:
        return
    _counts["failed" if report.failed else "passed"] += 1
    for key, value in report.user_properties:
        if key == KEY and report.passed and isinstance(value, dict):
            _counts.update(value)


def summarize(terminal: pytest.TerminalReporter) -> None:
    if not _counts:
        return
    others = _counts["prose"] + _counts["inside"]
    terminal.write_sep("-", "spec corpus")
    terminal.write_line(
        f"{_counts['passed']} spec documents read as expected ({_counts['failed']} not): "
        f"{_counts['workstreams']} workstreams; {others} headings that are not workstreams, "
        f"none taken as one ({_counts['prose']} left as prose, {_counts['inside']} fields and "
        "sub-sections of workstreams)")
