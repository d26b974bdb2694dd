"""Git remotes as the way to spread workers over machines: fetch, push, delete, with retries.

Network operations are retried with exponential backoff (2, 4, 8, 16 s by default); after
the last attempt the failure is reported in one line. Nothing already merged is touched.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from dispatch import git
from dispatch.errors import DispatchError
from dispatch.names import shown

T = TypeVar("T")


def expect_remote(root: Path, name: str) -> None:
    if name.startswith("-"):
        raise DispatchError(f"{shown(name)} is not a remote name (it starts with '-'); name "
                            "one of 'git remote -v'")
    if not git.ok(["remote", "get-url", "--", name], root):
        raise DispatchError(f"no git remote named {shown(name)}; add it with 'git remote add "
                            f"{name} <url>' (see 'git remote -v')")


def with_retries(action: Callable[[], T], what: str, first_delay: float = 2.0,
                 attempts: int = 5) -> T:
    delay = first_delay
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except git.GitError as exc:
            if attempt == attempts:
                raise DispatchError(f"{what} failed after {attempts} attempts: {exc.message}; "
                                    "check the remote and the network, then run it again") \
                    from None
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


def fetch(root: Path, remote: str, refspecs: list[str], first_delay: float) -> None:
    with_retries(lambda: git.run(["fetch", "--quiet", "--prune", "--no-tags", remote,
                                  *refspecs], root), f"git fetch {remote}", first_delay)


def push(root: Path, remote: str, refspecs: list[str], first_delay: float) -> None:
    with_retries(lambda: git.run(["push", "--quiet", remote, *refspecs], root),
                 f"git push {remote}", first_delay)


def tracking(root: Path, remote: str, pattern: str = "*") -> dict[str, str]:
    """Remote-tracking branches of `remote` whose name matches `pattern`: {branch: commit}."""
    prefix = f"refs/remotes/{remote}/"
    out = git.run(["for-each-ref", "--format=%(objectname) %(refname)", prefix], root)
    found = {}
    for line in out.splitlines():
        sha, _, ref = line.partition(" ")
        branch = ref.removeprefix(prefix)
        if branch != "HEAD" and fnmatch.fnmatchcase(branch, pattern):
            found[branch] = sha
    return found


def local(root: Path, pattern: str) -> dict[str, str]:
    out = git.run(["for-each-ref", "--format=%(objectname) %(refname:strip=2)", "refs/heads/"],
                  root)
    return {name: sha for sha, _, name in (line.partition(" ") for line in out.splitlines())
            if fnmatch.fnmatchcase(name, pattern)}
