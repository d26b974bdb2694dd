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

from dispatch.core.errors import DispatchError
from dispatch.core.text import shown
from dispatch.gitops import refs, runner

T = TypeVar("T")


def expect_remote(root: Path, name: str) -> None:
    if name.startswith("-"):
        raise DispatchError(f"{shown(name)} is not a remote name (it starts with '-'); name "
                            "one of 'git remote -v'")
    if not runner.ok(["remote", "get-url", "--", name], root):
        raise DispatchError(f"no git remote named {shown(name)}; add it with 'git remote add "
                            f"{name} <url>' (see 'git remote -v')")


def with_retries(action: Callable[[], T], what: str, first_delay: float = 2.0,
                 attempts: int = 5) -> T:
    delay = first_delay
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except runner.GitError as exc:
            if attempt == attempts:
                raise DispatchError(f"{what} failed after {attempts} attempts: {exc.message}; "
                                    "check the remote and the network, then run it again") \
                    from None
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


def fetch(root: Path, remote: str, refspecs: list[str], first_delay: float) -> None:
    with_retries(lambda: runner.run(["fetch", "--quiet", "--prune", "--no-tags", remote,
                                  *refspecs], root), f"git fetch {remote}", first_delay)


def push(root: Path, remote: str, refspecs: list[str], first_delay: float,
         options: tuple[str, ...] = ()) -> None:
    with_retries(lambda: runner.run(["push", "--quiet", *options, remote, *refspecs], root),
                 f"git push {remote}", first_delay)


def push_branch(root: Path, remote: str, branch: str, first_delay: float) -> None:
    """Publish a local branch under the same name on `remote`."""
    push(root, remote, [f"refs/heads/{branch}:refs/heads/{branch}"], first_delay)


def tracking(root: Path, remote: str, pattern: str = "*") -> dict[str, str]:
    """Remote-tracking branches of `remote` whose name matches `pattern`: {branch: commit}."""
    prefix = f"refs/remotes/{remote}/"
    out = runner.run(["for-each-ref", "--format=%(objectname) %(refname)", prefix], root)
    found = {}
    for line in out.splitlines():
        sha, _, ref = line.partition(" ")
        branch = ref.removeprefix(prefix)
        if branch != "HEAD" and fnmatch.fnmatchcase(branch, pattern):
            found[branch] = sha
    return found


def local(root: Path, pattern: str) -> dict[str, str]:
    """Local branches whose name matches `pattern`: {branch: commit}."""
    return {name: sha for name, sha in refs.branch_tips(root).items()
            if fnmatch.fnmatchcase(name, pattern)}


def heads(root: Path, remote: str, pattern: str) -> dict[str, str]:
    """Branches on `remote` (asked over the network, not the tracking refs): {branch: sha}."""
    out = runner.run(["ls-remote", "--heads", remote, f"refs/heads/{pattern}"], root)
    found = {}
    for line in out.splitlines():
        sha, _, ref = line.partition("\t")
        found[ref.removeprefix("refs/heads/")] = sha
    return found


def delete(root: Path, remote: str, branches: list[str], first_delay: float,
           expect: dict[str, str] | None = None) -> None:
    """Delete branches on `remote` (one push, retried). With `expect` ({branch: commit}),
    a branch is deleted only while it still points there: one that moved on the remote
    since it was fetched (new work pushed meanwhile) makes the push fail, not vanish."""
    leases = tuple(f"--force-with-lease=refs/heads/{branch}:{sha}"
                   for branch, sha in (expect or {}).items())
    push(root, remote, [f":refs/heads/{branch}" for branch in branches], first_delay, leases)
