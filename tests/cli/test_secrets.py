"""`.env` values never appear in what dispatch prints or writes (a sentinel hunts for them)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.support.cli import Result
from tests.support.fakes import FakeClaude
from tests.support.gitrepo import commit, write
from tests.support.sessions import THREE

Cli = Callable[..., Result]
SENTINEL = "s3ntinel-7f3a9c"


def test_env_values_never_leak(repo: Path, cli: Cli, fake_claude: FakeClaude) -> None:
    commit(repo, {".gitignore": ".env\n", "specs/three.md":
                  "---\nverify: test -f work/api.txt || test -f work/web.txt || true\n---\n"
                  + THREE})
    write(repo, {".env": f"PORT=8000\nAPI_KEY={SENTINEL}\n"
                         f"DATABASE_URL=postgres://user:{SENTINEL}@127.0.0.1:5432/db\n"
                         f"export TOKEN='{SENTINEL}'\n"})
    outputs = [cli("plan", "specs/three.md"), cli("start", "specs/three.md", "--wait"),
               cli("status"), cli("status", "--json", "-v"), cli("logs", "api", "--all"),
               cli("check"), cli("integrate"), cli("clean", "--dry-run")]
    assert [o.code for o in outputs] == [0] * len(outputs), outputs
    write(repo, {".env": f"PORT=8000\n{SENTINEL} is not a valid line\n"})
    refused = cli("start", "specs/three.md", "--no-agents")
    assert refused.code == 1 and "line 2" in refused.err
    outputs.append(refused)
    for output in outputs:
        assert SENTINEL not in output.out + output.err
    written = [p for p in (repo / ".worktrees").rglob("*") if p.is_file()
               and p.name != ".env" and ".git" not in p.parts and
               not (p.parent.name == "logs" and p.suffix in (".json", ".jsonl", ".stderr"))]
    assert any(p.name == "sessions.json" for p in written)
    assert any(p.name == "INTEGRATION.md" for p in written)
    leaks = [p for p in written if SENTINEL.encode() in p.read_bytes()]
    assert leaks == []
    calls = fake_claude.calls()  # what dispatch handed to claude: argv, prompts
    assert calls and not any(SENTINEL in " ".join(call["argv"]) for call in calls)
    # The copies in the worktrees are the point of .env handling: the value is there.
    assert SENTINEL in (repo / ".worktrees/three/api/.env").read_text()

