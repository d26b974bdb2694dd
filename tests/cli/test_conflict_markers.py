"""A worker that commits a half-finished merge (conflict markers in a file) is not done: the
markers would otherwise land on the integration branch, where no merge-tree sees them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dispatch.gitops import history
from tests.support.cli import Result
from tests.support.fakes import FakeClaude
from tests.support.gitrepo import commit, git
from tests.support.sessions import records

Cli = Callable[..., Result]
ONE = "# One\n## Workstreams\n### Api\n**Files**: `work/**`\n- [ ] serve\n"
MARKED = "a\n<<<<<<< HEAD\nours\n=======\ntheirs\n>>>>>>> six/integration\n"


def test_committed_conflict_markers_are_not_done(repo: Path, cli: Cli,
                                                 fake_claude: FakeClaude) -> None:
    commit(repo, {"specs/one.md": ONE})
    leave_markers = ["sh", "-c", f"printf '{MARKED}' > work/half.txt && git add -A && "
                     "git -c commit.gpgsign=false commit -qm 'merge, half done'"]
    fake_claude.script({"api": [{"do": "work", "run_before_reply": leave_markers}]})
    assert cli("start", "specs/one.md", "--wait", "--no-follow-up", "--no-setup").code == 1
    api = records(repo, "one")["api"]
    assert api["status"] == "needs_attention"
    assert api["error"] == ("conflict markers are committed in work/half.txt: resolve them and "
                            "commit")


def test_a_heading_underline_is_not_a_conflict_marker(repo: Path) -> None:
    base = git(repo, "rev-parse", "HEAD")
    tip = commit(repo, {"docs/title.rst": "Title\n=======\n", "work/half.txt": MARKED})
    assert history.conflict_markers(repo, base, tip) == ["work/half.txt"]
