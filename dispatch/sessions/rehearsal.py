"""The rehearsal worker: a stand-in for `claude` that spends no tokens.

Invoked exactly like claude (`python -m dispatch.sessions.rehearsal -p --output-format json ... --
PROMPT`) in a workstream's worktree, it ticks every box in TASKS.md, touches the files the
workstream owns, commits, writes RESULTS.md and prints a result of claude's shape, marked
`"rehearsal": true`. It lets you try a spec, the setup, the ports and the integration for
free. DISPATCH_REHEARSAL_SECONDS sets how long each run pretends to work (default 1).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

from dispatch.gitops import tree
from dispatch.workspace.workfiles import RESULTS, TASKS, tasks_section

IDENTITY = ("dispatch rehearsal", "rehearsal@dispatch.invalid")
_GLOB = re.compile(r"[*?\[]")


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="rehearsal", add_help=False, allow_abbrev=False)
    parser.add_argument("-p", "--print", action="store_true")
    parser.add_argument("--output-format", default="text")
    for option in ("--model", "--session-id", "--resume", "--append-system-prompt",
                   "--permission-mode", "--add-dir", "--max-turns", "--max-budget-usd",
                   "--allowedTools"):
        parser.add_argument(option)
    parser.add_argument("prompt", nargs="?", default="")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse(argv)
    started = time.monotonic()
    time.sleep(float(os.environ.get("DISPATCH_REHEARSAL_SECONDS", "1")))
    name = os.environ.get("DISPATCH_WORKSTREAM", Path.cwd().name)
    ticked = _tick_tasks(Path.cwd())
    touched = _touch_owned_files(Path.cwd(), name, Path(args.add_dir) if args.add_dir else None)
    committed = _commit(name, touched)
    _write_results(name, ticked, touched)
    print(json.dumps({
        "type": "result", "subtype": "success", "is_error": False, "rehearsal": True,
        "duration_ms": int((time.monotonic() - started) * 1000), "num_turns": ticked + 1,
        "result": f"Rehearsal: ticked {ticked} task(s), changed {', '.join(touched)}"
                  f"{'' if committed else ' (nothing new to commit)'}.",
        "session_id": args.session_id or args.resume, "total_cost_usd": 0.0,
    }))
    return 0


def _tick_tasks(worktree: Path) -> int:
    tasks = worktree / TASKS
    if not tasks.exists():
        return 0
    text = tasks.read_text()
    start, end = tasks_section(text)
    section, ticked = re.subn(r"^(\s*[-*+] )\[ \]", r"\1[x]", text[start:end], flags=re.M)
    tasks.write_text(text[:start] + section + text[end:])
    return ticked


def _owned_files(feature_dir: Path | None, name: str) -> list[str]:
    try:
        plan = json.loads((feature_dir / "plan.json").read_text()) if feature_dir else {}
    except (OSError, ValueError):
        return []
    for ws in plan.get("workstreams", []):
        if ws.get("name") == name:
            return [f for f in ws.get("files", []) if not _GLOB.search(f) and
                    not f.endswith("/") and ".." not in Path(f).parts]
    return []


def _inside(worktree: Path, relative: str) -> bool:
    """Whether writing `relative` stays in the worktree: no absolute path, no `..`, and no
    symlink on the way (a repository can commit one pointing anywhere)."""
    if Path(relative).is_absolute() or ".." in Path(relative).parts:
        return False
    path = worktree
    for part in Path(relative).parts:
        path = path / part
        if path.is_symlink():
            return False
    return True


def _touch_owned_files(worktree: Path, name: str, feature_dir: Path | None) -> list[str]:
    targets = [f for f in _owned_files(feature_dir, name) if _inside(worktree, f)][:3] or \
        [f"rehearsal/{name}.md"]
    for relative in targets:
        path = worktree / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        comment = "#" if path.suffix in (".py", ".sh", ".toml", ".yml", ".yaml", "") else "//" \
            if path.suffix in (".js", ".ts", ".go", ".rs", ".java", ".c") else ""
        line = f"{comment} rehearsal change by workstream {name}".strip()
        with path.open("a") as handle:
            handle.write(line + "\n")
    return targets


def _commit(name: str, touched: list[str]) -> bool:
    return tree.commit_paths(Path.cwd(), touched, f"{name}: rehearsal change", IDENTITY)


def _write_results(name: str, ticked: int, touched: list[str]) -> None:
    changed = "\n".join(f"- `{path}`: a marker line from the rehearsal" for path in touched)
    Path(RESULTS).write_text(
        f"# {name} — rehearsal results\n\n## Summary\nA rehearsal run (no Claude session): "
        f"{ticked} task box(es) ticked.\n\n## Files changed\n{changed}\n\n## Challenges\nNone: "
        "nothing real was built.\n\n## Integration notes\nThe changes are marker lines only."
        "\n\n## Suggestions\nRun `dispatch start` without `--rehearse` for real work.\n")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
