"""The misbehaving-worker campaign's summary: misbehaviours x outcomes, printed at the end of
the session from what each trial recorded (`record_property`, which pytest-xdist carries
back from its workers)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any

import pytest


def _campaign_rows(reporter: Any) -> list[dict[str, Any]]:
    rows = []
    for reports in reporter.stats.values():
        for report in reports:
            if getattr(report, "when", None) != "call":
                continue
            for name, value in getattr(report, "user_properties", []):
                if name == "campaign":
                    rows.append(json.loads(value))
    return rows


def _table(rows: list[dict[str, Any]]) -> list[str]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        for worker in row["workers"].values():
            name = worker["misbehaviour"] + ("*" if worker["every_run"] else "")
            outcome = f"{worker['status']}/{worker['merge']}/{worker['clean']}"
            counts[name][outcome] += 1
    width = max(len(name) for name in counts)
    return [f"{name:<{width}}  " + ", ".join(f"{n}× {o}" for o, n in sorted(c.items()))
            for name, c in sorted(counts.items())]


@pytest.hookimpl(trylast=True)
def pytest_terminal_summary(terminalreporter: Any) -> None:
    rows = _campaign_rows(terminalreporter)
    if not rows:
        return
    write = terminalreporter.write_line
    terminalreporter.write_sep("-", f"misbehaving-worker campaign: {len(rows)} runs")
    write("misbehaviour (* every run)  outcome: status after start / merge / clean")
    for line in _table(rows):
        write(line)
    findings = [f for row in rows for f in row["findings"]]
    failed = [row for row in rows if row["problems"]]
    seconds = sorted(row["seconds"] for row in rows)
    write(f"runs with problems: {len(failed)}; findings (allowed): {len(findings)}; "
          f"seconds per run: median {seconds[len(seconds) // 2]}, max {seconds[-1]}")
    for finding in findings:
        write(f"  finding: {finding}")
    for row in failed:
        write(f"  {row['id']}: " + "; ".join(row["problems"])[:400])
