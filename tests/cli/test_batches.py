"""`integrate --batch`: ready branches merged together, verify run once, a red batch searched
for the merge that breaks it, a flaky failure never blamed; the same result as merging one
at a time."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import Result
from tests.support.gitrepo import commit, git, make_repo
from tests.support.integrate import work

Cli = Callable[..., Result]
NAMES = ["api", "web", "cli", "docs", "jobs", "auth"]
SIX = "# Six\n## Workstreams\n" + "".join(
    f"### Workstream {i}: {n.title()}\n**Files**: `{n}/**`\n- [ ] do it\n"
    for i, n in enumerate(NAMES, start=1))
# The project's tests: fail when a tracked file says BROKEN; every run is counted (outside the
# repository) and, when FLAKY names a file, a run fails at random, but never twice in a row
# on the same commit (the flaky test that passes when run again).
CHECK = """\
echo run >> "$COUNT"
if [ -n "$FLAKY" ]; then
  head=$(git rev-parse HEAD)
  if grep -qx "$head" "$FLAKY" 2>/dev/null; then
    grep -vx "$head" "$FLAKY" > "$FLAKY.new"; mv "$FLAKY.new" "$FLAKY"
  elif [ "$(python3 -c 'import random; print(random.random() < 0.5)')" = True ]; then
    echo "$head" >> "$FLAKY"; echo "flaky failure"; exit 1
  fi
fi
! git grep -q BROKEN -- '*.txt'
"""


@pytest.fixture
def six(repo: Path, cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COUNT", str(tmp_path / "count"))
    return started(repo, cli)


def started(repo: Path, cli: Cli) -> Path:
    commit(repo, {"specs/six.md": SIX, "check.sh": CHECK, "shared.txt": "one\n"})
    assert cli("start", "specs/six.md", "--no-agents", cwd=repo).code == 0
    return repo


def runs(tmp_path: Path) -> int:
    count = tmp_path / "count"
    return len(count.read_text().splitlines()) if count.exists() else 0


def merges(repo: Path) -> dict[str, Any]:
    state = json.loads((repo / ".worktrees/six/sessions.json").read_text())
    found: dict[str, Any] = state["integration"]["merges"]
    return found


def statuses(repo: Path) -> dict[str, str]:
    return {name: record["status"] for name, record in merges(repo).items()}


def tree(repo: Path) -> str:
    return git(repo, "rev-parse", "six/integration^{tree}")


def all_work(repo: Path, broken: str | None = None) -> None:
    for name in NAMES:
        text = "BROKEN\n" if name == broken else f"{name}\n"
        work(repo, name, {f"{name}/{name}.txt": text}, feature="six")


def test_a_green_batch_is_verified_once(six: Path, cli: Cli, tmp_path: Path) -> None:
    all_work(six)
    result = cli("integrate", "--verify", "sh check.sh", "--batch")
    assert result.code == 0, result
    assert set(statuses(six).values()) == {"merged"}
    assert {r["batch"] for r in merges(six).values()} == {1}
    assert runs(tmp_path) == 2  # the branch before any merge, then the batch
    assert "batch 1: verifying 6 merge(s) at once" in result.err
    integration = six / ".worktrees/six/integration"
    assert git(integration, "rev-parse", "HEAD") == git(six, "rev-parse", "six/integration")
    assert git(integration, "status", "--porcelain") == ""
    assert not (six / ".worktrees/six/.verify").exists()  # scratch worktrees are gone
    assert ".verify" not in git(six, "worktree", "list")


@pytest.mark.parametrize("broken", NAMES)
def test_a_red_batch_blames_the_merge_that_breaks_it_like_one_at_a_time(
        six: Path, cli: Cli, tmp_path: Path, broken: str) -> None:
    twin = started(make_repo(tmp_path / "twin", {"README.md": "# project\n", "app/__init__.py":
                                                 "", "app/main.py": "print('hi')\n"}), cli)
    all_work(six, broken)
    assert cli("integrate", "--verify", "sh check.sh", "--batch").code == 1
    batched = runs(tmp_path)
    expected = dict.fromkeys(NAMES, "merged") | {broken: "verify_failed"}
    assert statuses(six) == expected
    assert "passed without it" in merges(six)[broken]["reason"]
    assert merges(six)[broken]["verify_log"].startswith(".worktrees/six/logs/integration."
                                                        "verify.batch1.")
    (tmp_path / "count").unlink()

    all_work(twin, broken)
    assert cli("integrate", "--verify", "sh check.sh", "--no-batch", cwd=twin).code == 1
    assert statuses(twin) == expected
    assert tree(six) == tree(twin)  # the same integrated tree, whichever way
    assert runs(tmp_path) == 1 + 6 + 1  # base, one per merge, the failure run again
    assert batched <= 1 + 1 + 2 * 3 + 1  # base, whole batch, search (log2 6), the rest


def test_a_merge_that_conflicts_only_with_the_blamed_one_still_lands(
        six: Path, cli: Cli) -> None:
    work(six, "api", {"api/api.txt": "api\n"}, feature="six")
    work(six, "web", {"web/web.txt": "BROKEN\n", "shared.txt": "web\n"}, feature="six")
    work(six, "cli", {"cli/cli.txt": "cli\n", "shared.txt": "cli\n"}, feature="six")
    assert cli("integrate", "--verify", "sh check.sh", "--batch").code == 1
    assert statuses(six) == {"api": "merged", "web": "verify_failed", "cli": "merged",
                             "docs": "skipped", "jobs": "skipped", "auth": "skipped"}
    assert (six / ".worktrees/six/integration/shared.txt").read_text() == "cli\n"


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("batch", ["--batch", "--no-batch"])
def test_a_flaky_verify_gets_no_branch_blamed(six: Path, cli: Cli, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch, seed: int,
                                              batch: str) -> None:
    random.seed(seed)
    flaky = tmp_path / "flaky"
    monkeypatch.setenv("FLAKY", str(flaky))
    monkeypatch.setenv("PYTHONHASHSEED", str(seed))
    all_work(six)
    result = cli("integrate", "--verify", "sh check.sh", batch)
    assert result.code == 0, result
    assert set(statuses(six).values()) == {"merged"}


@pytest.mark.parametrize("obstacle", ["link", "file", "folder-in-a-slot"])
def test_what_a_worker_put_where_the_scratch_worktrees_go_is_set_aside_not_followed(
        six: Path, cli: Cli, tmp_path: Path, obstacle: str) -> None:
    """The feature folder is the workers' to write. A link named `.verify` must not be
    followed (its target's `1/` would be deleted), a file there must not stop every batch."""
    victim = tmp_path / "victim"
    (victim / "1").mkdir(parents=True)
    (victim / "1" / "precious.txt").write_text("keep me\n")
    scratch = six / ".worktrees/six/.verify"
    if obstacle == "link":
        scratch.symlink_to(victim)
    elif obstacle == "file":
        scratch.write_text("a worker's note\n")
    else:
        (scratch / "1").mkdir(parents=True)
        (scratch / "1" / "notes.txt").write_text("a worker's note\n")
    all_work(six, broken="web")
    result = cli("integrate", "--verify", "sh check.sh", "--batch")
    assert result.code == 1, result  # web is left out, the rest land
    assert statuses(six) == dict.fromkeys(NAMES, "merged") | {"web": "verify_failed"}
    assert (victim / "1" / "precious.txt").read_text() == "keep me\n"
    aside = list((six / ".worktrees/six").rglob("*.aside-*"))
    assert len(aside) == 1
    if obstacle == "file":
        assert aside[0].read_text() == "a worker's note\n"
    elif obstacle == "folder-in-a-slot":
        assert (aside[0] / "notes.txt").read_text() == "a worker's note\n"
    else:
        assert aside[0].is_symlink()
