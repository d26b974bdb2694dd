"""Helpers that build real git repositories for tests (git is never mocked)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git(repo: Path, *args: str, input_text: str | None = None) -> str:
    proc = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=False,
                          input=input_text)
    assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stderr}"
    return proc.stdout.strip()


def write(repo: Path, files: dict[str, str]) -> None:
    for name, content in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


def commit(repo: Path, files: dict[str, str], message: str = "change") -> str:
    write(repo, files)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def make_repo(path: Path, files: dict[str, str] | None = None) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q")
    commit(path, files or {"README.md": "# project\n"}, "initial commit")
    return path


def snapshot(repo: Path, feature: str | None = None) -> dict[str, str]:
    """What a user would notice changing: branch, HEAD, index, status, refs.

    With `feature`, that feature's own branches and .worktrees/ are left out (dispatch makes
    them); everything else must stay exactly as it was.
    """
    view = _snapshot(repo)
    if feature is not None:
        view["status"] = "\n".join(line for line in view["status"].splitlines()
                                   if ".worktrees/" not in line)
        view["refs"] = "\n".join(line for line in view["refs"].splitlines()
                                 if not line.startswith(f"refs/heads/{feature}/"))
    return view


def _snapshot(repo: Path) -> dict[str, str]:
    return {
        "branch": git(repo, "symbolic-ref", "-q", "--short", "HEAD") if
        subprocess.run(["git", "symbolic-ref", "-q", "HEAD"], cwd=repo,
                       capture_output=True, check=False).returncode == 0 else "(detached)",
        "head": git(repo, "rev-parse", "HEAD"),
        "index": git(repo, "ls-files", "--stage"),
        "status": git(repo, "status", "--porcelain", "--untracked-files=all", "--ignored"),
        "diff": git(repo, "diff"),
        "refs": git(repo, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads",
                    "refs/tags"),
    }
