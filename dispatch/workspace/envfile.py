"""The repository's `.env`: checked, copied into each worktree, ports rewritten.

Values are never printed: messages name keys and line numbers only.
"""

from __future__ import annotations

import io
import shutil
from dataclasses import dataclass
from pathlib import Path

from dispatch.core.errors import DispatchError
from dispatch.gitops import tree

ENV_NAME = ".env"


@dataclass(frozen=True)
class EnvSource:
    path: Path  # the file to copy (a symlink already resolved)
    values: dict[str, str | None]
    tracked: bool  # committed in git: secrets in history, and edits must stay out of commits
    ignored: bool


def read_root_env(root: Path) -> EnvSource | None:
    link = root / ENV_NAME
    if not link.exists() and not link.is_symlink():
        return None
    path = link.resolve()
    if link.is_symlink() and not path.is_relative_to(root.resolve()):
        raise DispatchError(".env is a symlink to a file outside the repository; dispatch will "
                            "not copy it into worktrees: make it a regular file, or pass "
                            "--no-env")
    if not path.is_file():
        raise DispatchError(".env is not a regular file (or its symlink is broken); fix it or "
                            "pass --no-env")
    return EnvSource(path, _parse(path), tracked=tree.is_tracked(root, ENV_NAME),
                     ignored=tree.is_ignored(root, ENV_NAME))


def _parse(path: Path) -> dict[str, str | None]:
    from dotenv.parser import parse_stream

    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise DispatchError(f".env cannot be read as text ({type(exc).__name__}); fix it or "
                            "pass --no-env") from None
    values: dict[str, str | None] = {}
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            raise DispatchError(f".env line {binding.original.line} is not valid dotenv syntax "
                                "(KEY=value); fix that line or pass --no-env")
        if binding.key is not None:
            values[binding.key] = binding.value
    return values


def write_worktree_env(source: EnvSource, worktree: Path, ports: dict[str, int]) -> None:
    """Copy .env into the worktree and set its ports, keeping comments and other keys."""
    from dotenv import set_key

    target = worktree / ENV_NAME
    if target.is_symlink():
        target.unlink()
    shutil.copyfile(source.path, target)
    text = target.read_text()
    for key, port in ports.items():
        exported = f"export {key}=" in text
        set_key(target, key, str(port), quote_mode="never", export=exported)
    if source.tracked:
        # The index is per worktree: this keeps our port edits out of the worker's commits
        # (and out of merge conflicts) without touching the user's checkout.
        tree.skip_worktree(worktree, ENV_NAME)
