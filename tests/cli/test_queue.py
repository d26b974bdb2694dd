"""The queue (`start --queue`) end to end: the supervisor hands each workstream's session its
items batch by batch (the fake claude's "batch" action fixes exactly the items a prompt
lists, one line `fixed <id>` per item), books each batch once, and lets a workstream that
ran out take batches whose files stay disjoint."""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dispatch.commands.status import collect
from dispatch.commands.status.view import status_table
from dispatch.core.table import Table, render
from dispatch.sessions import client
from dispatch.state.paths import FeaturePaths
from tests.support.cli import Result
from tests.support.fakes import FakeClaude
from tests.support.gitrepo import commit, git
from tests.support.sessions import records, settle, state, statuses

Cli = Callable[..., Result]
ITEM_IN_PROMPT = r"^- item (\S+:\d+) — "


def work_list(lists: dict[str, list[str]], frontmatter: str = "") -> str:
    """A spec such as `dispatch split` writes: each workstream owns its files and carries
    its items as tasks (`lists`: workstream -> the file of each of its items)."""
    parts = [frontmatter, "# Lint\n## Workstreams\n"]
    for name, files in lists.items():
        owned = ", ".join(f"`{f}`" for f in dict.fromkeys(files))
        parts.append(f"### {name.title()}\n**Goal**: fix the lint errors\n**Files**: {owned}\n")
        parts += [f"- [ ] `{file}`: fix E501 number {n}\n" for n, file in enumerate(files, 1)]
    return "".join(parts)


def files_by_tens(name: str, count: int) -> list[str]:
    """Ten items per file: a batch of 20 holds two files that no other batch has."""
    return [f"src/{name}/m{n // 10}.py" for n in range(count)]


def fixed_items(repo: Path, feature: str) -> Counter[str]:
    """Every `fixed <id>` line that any workstream branch added (its diff from the base)."""
    base = state(repo, feature)["base"]
    found: Counter[str] = Counter()
    for record in records(repo, feature).values():
        diff = git(repo, "diff", f"{base}..{record['branch']}")
        found.update(line[len("+fixed "):] for line in diff.splitlines()
                     if line.startswith("+fixed "))
    return found


def prompted_items(fake: FakeClaude) -> Counter[str]:
    import re

    return Counter(item for call in fake.calls()
                   for item in re.findall(ITEM_IN_PROMPT, call["prompt"] or "", re.M))


def all_ids(lists: dict[str, int]) -> set[str]:
    return {f"{name}:{n}" for name, count in lists.items() for n in range(1, count + 1)}


def batches(repo: Path, feature: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = state(repo, feature)["queue"]["batches"]
    return found


def test_a_200_item_queue_in_three_workstreams_is_drained_each_item_once(
        repo: Path, cli: Cli, fake_claude: FakeClaude) -> None:
    sizes = {"alpha": 80, "beta": 70, "gamma": 50}
    spec = work_list({n: files_by_tens(n, c) for n, c in sizes.items()})
    commit(repo, {"specs/lint.md": spec}, "spec")
    fake_claude.script({"*": [{"do": "batch", "sleep": 0.1}] * 30})

    result = cli("start", "specs/lint.md", "--queue", "--batch-size", "20")
    assert result.code == 0, result
    done = settle(repo, "lint", timeout=120)

    assert statuses(done) == {"alpha": "done", "beta": "done", "gamma": "done"}
    assert fixed_items(repo, "lint") == Counter(dict.fromkeys(all_ids(sizes), 1))
    assert prompted_items(fake_claude) == Counter(dict.fromkeys(all_ids(sizes), 1))
    found = batches(repo, "lint")
    assert [(b["owner"], b["number"], len(b["items"])) for b in found] == [
        ("alpha", 1, 20), ("alpha", 2, 20), ("alpha", 3, 20), ("alpha", 4, 20),
        ("beta", 1, 20), ("beta", 2, 20), ("beta", 3, 20), ("beta", 4, 10),
        ("gamma", 1, 20), ("gamma", 2, 20), ("gamma", 3, 10)]
    assert all(b["status"] == "done" and b["done_at"] for b in found)
    # One session per workstream, resumed for every batch after its first.
    calls = fake_claude.calls()
    for name, record in done.items():
        mine = [c for c in calls if c["workstream"] == name]
        assert {c["session_id"] for c in mine} == {record["session_id"]}
        assert [c["resume"] for c in mine] == [False] + [True] * (len(mine) - 1)

    report = json.loads(cli("status", "lint", "--json").out)["queue"]
    assert (report["items_done"], report["items_total"]) == (200, 200)
    assert (report["batches_done"], report["batches_total"], report["batch_size"]) == (11, 11, 20)
    assert report["items_per_hour"] > 0 and report["eta_hours"] == 0.0
    per = {w["name"]: w for w in report["workstreams"]}
    assert {n: (w["items_done"], w["items_total"]) for n, w in per.items()} == {
        "alpha": (80, 80), "beta": (70, 70), "gamma": (50, 50)}
    assert sum(w["by_its_session"] for w in per.values()) == 200


def test_the_first_prompt_and_tasks_name_batch_one_and_say_more_follow(
        repo: Path, cli: Cli, fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/lint.md": work_list({"alpha": files_by_tens("alpha", 5)})}, "spec")
    fake_claude.script({"*": [{"do": "batch"}] * 5})
    assert cli("start", "specs/lint.md", "--batch-size", "2").code == 0
    settle(repo, "lint")
    prompts = [c["prompt"] for c in fake_claude.calls()]
    assert len(prompts) == 3
    assert prompts[0].startswith("Read .workstream/TASKS.md and complete every task")
    assert "Work list of workstream \"Alpha\": batch 1 of 3.\n" in prompts[0]
    assert "- item alpha:1 — `src/alpha/m0.py`: fix E501 number 1\n" \
           "- item alpha:2 — `src/alpha/m0.py`: fix E501 number 2\n\n" in prompts[0]
    assert "2 more batch(es) of this list follow" in prompts[0]
    assert prompts[2].startswith("Work list of workstream \"Alpha\": batch 3 of 3.\n")
    assert "This is the last batch of this list" in prompts[2]
    tasks = (repo / ".worktrees/lint/alpha/.workstream/TASKS.md").read_text()
    assert "below are the 2 items of batch 1 of 3. More will\nfollow" in tasks
    assert "item alpha:2 — `src/alpha/m0.py`" in tasks and "alpha:3" not in tasks


def test_kill_9_of_the_supervisor_mid_queue_and_a_rerun_redo_and_skip_nothing(
        repo: Path, cli: Cli, fake_claude: FakeClaude) -> None:
    sizes = {"alpha": 60, "beta": 60, "gamma": 40}
    commit(repo, {"specs/lint.md": work_list(
        {n: files_by_tens(n, c) for n, c in sizes.items()},
        frontmatter="---\nqueue: {batch_size: 10}\n---\n")}, "spec")
    fake_claude.script({"*": [{"do": "batch", "sleep": 0.4}] * 30})
    assert cli("start", "specs/lint.md").code == 0  # the frontmatter turns the queue on
    paths = FeaturePaths(repo, "lint")
    waited = _until(lambda: sum(b["status"] == "done" for b in batches(repo, "lint")) >= 4)
    mid = json.loads(cli("status", "lint", "--json").out)["queue"]
    assert 0 < mid["items_done"] < 160 and mid["items_per_hour"] and mid["eta_hours"], waited

    os.kill(client.supervisor_pid(paths) or 0, signal.SIGKILL)
    _until(lambda: client.supervisor_pid(paths) is None)
    left = [b for b in batches(repo, "lint") if b["status"] != "done"]
    assert left, "the queue was drained before the kill: the test would prove nothing"
    time.sleep(1.0)  # runs the dead supervisor started end with nobody watching them
    assert cli("start", "lint").code == 0  # the restart path (README): records and goes on
    done = settle(repo, "lint", timeout=120)

    assert statuses(done) == {"alpha": "done", "beta": "done", "gamma": "done"}
    assert fixed_items(repo, "lint") == Counter(dict.fromkeys(all_ids(sizes), 1))
    assert prompted_items(fake_claude) == Counter(dict.fromkeys(all_ids(sizes), 1))
    assert all(b["status"] == "done" for b in batches(repo, "lint"))
    report = json.loads(cli("status", "lint", "--json").out)["queue"]
    assert (report["items_done"], report["items_total"], report["eta_hours"]) == (160, 160, 0.0)


def test_a_workstream_that_ran_out_takes_batches_whose_files_stay_disjoint(
        repo: Path, cli: Cli, fake_claude: FakeClaude) -> None:
    # long: 6 batches, each with files of its own; short: one batch, done early.
    lists = {"long": files_by_tens("long", 60), "short": files_by_tens("short", 10)}
    commit(repo, {"specs/lint.md": work_list(lists)}, "spec")
    fake_claude.script({"long": [{"do": "batch", "sleep": 1.0}] * 10,
                        "short": [{"do": "batch"}] * 10})
    assert cli("start", "specs/lint.md", "--batch-size", "10").code == 0
    done = settle(repo, "lint", timeout=120)

    assert statuses(done) == {"long": "done", "short": "done"}
    in_order = sorted((b for b in batches(repo, "lint") if b["worker"] == "short"
                       and b["owner"] == "long"), key=lambda b: b["assigned_at"])
    taken = [(b["owner"], b["number"]) for b in in_order]
    assert taken and taken == sorted(taken, reverse=True)  # from the end of the list
    assert ("long", 6) in taken and ("long", 1) not in taken
    assert fixed_items(repo, "lint") == Counter(dict.fromkeys(all_ids({"long": 60,
                                                                       "short": 10}), 1))
    # The taken items were fixed on short's branch, in long's files, which long never touched.
    base = state(repo, "lint")["base"]
    changed = git(repo, "diff", "--name-only", f"{base}..lint/long").splitlines()
    for _, number in taken:
        assert f"src/long/m{number - 1}.py" not in changed
    report = json.loads(cli("status", "lint", "--json").out)["queue"]
    assert report["batches_taken"] == len(taken)
    assert {w["name"]: w["taken"] for w in report["workstreams"]}["short"] == sorted(
        f"long {n}" for _, n in taken)


def test_no_batch_is_taken_when_its_files_are_in_other_batches_of_its_owner(
        repo: Path, cli: Cli, fake_claude: FakeClaude) -> None:
    # long's files repeat every three items: each of its batches shares files with the rest.
    lists = {"long": [f"src/long/m{n % 3}.py" for n in range(40)],
             "short": files_by_tens("short", 10)}
    commit(repo, {"specs/lint.md": work_list(lists)}, "spec")
    fake_claude.script({"long": [{"do": "batch", "sleep": 0.5}] * 10,
                        "short": [{"do": "batch"}] * 10})
    assert cli("start", "specs/lint.md", "--batch-size", "10").code == 0
    done = settle(repo, "lint", timeout=120)

    assert statuses(done) == {"long": "done", "short": "done"}
    assert {(b["owner"], b["worker"]) for b in batches(repo, "lint")} == {
        ("long", "long"), ("short", "short")}
    short_runs = [c for c in fake_claude.calls() if c["workstream"] == "short"]
    assert len(short_runs) == 1
    assert fixed_items(repo, "lint") == Counter(dict.fromkeys(all_ids({"long": 40,
                                                                       "short": 10}), 1))


def test_a_batch_with_no_new_commits_gets_the_follow_up_for_that_batch(
        repo: Path, cli: Cli, fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/lint.md": work_list({"alpha": files_by_tens("alpha", 4)})}, "spec")
    # Batch 2's first run commits nothing; its follow-up fixes it.
    fake_claude.script({"*": [{"do": "batch"}, {"do": "results"}, {"do": "batch"}]})
    assert cli("start", "specs/lint.md", "--batch-size", "2").code == 0
    done = settle(repo, "lint")
    assert statuses(done) == {"alpha": "done"}
    prompts = [c["prompt"] for c in fake_claude.calls()]
    assert len(prompts) == 3
    assert "no new commits for batch 2 of alpha: commit its items on your branch" in prompts[2]
    assert fixed_items(repo, "lint") == Counter(dict.fromkeys(all_ids({"alpha": 4}), 1))


def test_status_shows_the_queue_in_80_columns_and_markdown(
        repo: Path, cli: Cli, fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/lint.md": work_list({"alpha": files_by_tens("alpha", 6),
                                              "beta": files_by_tens("beta", 3)})}, "spec")
    fake_claude.script({"*": [{"do": "batch"}] * 5})
    assert cli("start", "specs/lint.md", "--batch-size", "3").code == 0
    settle(repo, "lint")
    markdown = cli("status", "lint", "--format", "markdown").out
    assert "| workstream | status | items |" in markdown
    assert "| alpha | done | 6/6 |" in markdown and "| beta | done | 3/3 |" in markdown
    assert "queue: 9/9 items · batches 3/3 of 3 · " in markdown
    assert "ETA 0m00s" in markdown
    narrow = _rich(status_table(collect.snapshot(FeaturePaths(repo, "lint"))), 80)
    assert max(len(line) for line in narrow.splitlines()) <= 80, narrow
    assert "items" in narrow and "6/6" in narrow and "queue: 9/9 items" in narrow


def _rich(table: Table, width: int) -> str:
    from io import StringIO

    from rich.console import Console

    out = StringIO()
    Console(file=out, width=width, color_system=None).print(render(table, "rich", width))
    return out.getvalue()


def _until(condition: Callable[[], bool], timeout: float = 60.0) -> float:
    start = time.monotonic()
    while not condition():
        assert time.monotonic() - start < timeout, "timed out"
        time.sleep(0.05)
    return time.monotonic() - start


@pytest.mark.usefixtures("fake_claude")
def test_a_bad_batch_size_is_refused_before_any_change(repo: Path, cli: Cli) -> None:
    commit(repo, {"specs/lint.md": work_list({"alpha": ["a.py"]},
                                             frontmatter="---\nqueue: {batch_size: 0}\n---\n")})
    result = cli("start", "specs/lint.md")
    assert result.code == 1 and "queue.batch_size" in result.err, result
    assert not (repo / ".worktrees").exists()


@pytest.mark.usefixtures("fake_claude")
def test_a_rerun_keeps_the_batches_it_cut_and_says_so(repo: Path, cli: Cli) -> None:
    commit(repo, {"specs/lint.md": work_list({"alpha": files_by_tens("alpha", 5)})}, "spec")
    assert cli("start", "specs/lint.md", "--no-agents", "--batch-size", "2").code == 0
    cut = batches(repo, "lint")
    assert [len(b["items"]) for b in cut] == [2, 2, 1] and cut[0]["status"] == "assigned"

    again = cli("start", "specs/lint.md", "--no-agents", "--batch-size", "3")
    assert again.code == 0, again
    assert "warning: the queue of lint keeps its batches of 2 (a batch already handed out " \
           "is never cut again); --batch-size 3 is not used\n" in again.err
    assert batches(repo, "lint") == cut
