"""Where a feature's state lives on disk, and safe reads and writes of sessions.json.

Writes go to a temporary file in the same folder and then `os.replace`, so a reader sees the
old file or the new one, never a torn one. Every read-modify-write holds the state lock and
re-reads the file after taking it, so concurrent processes never lose each other's updates.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from dispatch.core.errors import DispatchError
from dispatch.core.files import open_regular
from dispatch.state.locks import FileLock
from dispatch.state.model import SCHEMA_VERSION, FeatureState, now
from dispatch.state.paths import FeaturePaths

T = TypeVar("T")
LOCK_TIMEOUT = 60.0


class StateStore:
    def __init__(self, paths: FeaturePaths) -> None:
        self.paths = paths

    def exists(self) -> bool:
        return self.paths.state_file.is_file()

    def load(self) -> FeatureState:
        try:
            with open_regular(self.paths.state_file) as handle:
                text = handle.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            raise DispatchError(
                f"feature '{self.paths.feature}' has no sessions.json; start it with "
                f"'dispatch start <spec>' (or rebuild it: 'dispatch repair "
                f"{self.paths.feature}')") from None
        except OSError as exc:  # a folder, a pipe or a link where the state should be
            raise DispatchError(
                f"{self.paths.relative(self.paths.state_file)} is not a file dispatch can "
                f"read ({exc.strerror}); move it away, then 'dispatch repair "
                f"{self.paths.feature}'") from None
        return self._parse(text)

    def _parse(self, text: str) -> FeatureState:
        from pydantic import ValidationError

        try:
            data = json.loads(text)
            if data.get("schema_version") != SCHEMA_VERSION:
                raise ValueError(f"schema_version {data.get('schema_version')!r}")
            return FeatureState.model_validate(data)
        except (ValueError, AttributeError, ValidationError) as exc:
            reason = type(exc).__name__ if isinstance(exc, ValidationError) else str(exc)
            raise DispatchError(
                f"{self.paths.relative(self.paths.state_file)} is damaged ({reason[:80]}); "
                f"rebuild it from git and the logs with 'dispatch repair "
                f"{self.paths.feature}'") from None

    def create(self, state: FeatureState) -> None:
        with self.locked_file():
            if not self.exists():
                self._write(state)

    def update(self, change: Callable[[FeatureState], T], *, touch: bool = True) -> T:
        """Apply `change` to the freshest state under the lock and save it. `touch=False`
        keeps `updated_at` as `change` left it (for taking a change back exactly)."""
        with self.locked_file():
            state = self.load()
            before = state.model_dump()
            result = change(state)
            if state.model_dump() != before:  # an update that changes nothing writes nothing
                if touch:
                    state.updated_at = now()
                self._write(state)
            return result

    def set(self, name: str, **fields: object) -> None:
        """Set fields of one workstream's record."""
        self.set_many({name: fields})

    def set_many(self, changes: dict[str, dict[str, object]]) -> None:
        """Set fields of several records in one locked write: {workstream: {field: value}}."""
        def change(state: FeatureState) -> None:
            for name, fields in changes.items():
                record = state.workstreams[name]
                for key, value in fields.items():
                    setattr(record, key, value)

        self.update(change)

    @contextmanager
    def locked_file(self) -> Iterator[None]:
        lock = FileLock(self.paths.lock("sessions"))
        if not lock.acquire(timeout=LOCK_TIMEOUT):
            raise DispatchError(f"sessions.json of '{self.paths.feature}' stayed locked for "
                                f"{LOCK_TIMEOUT:.0f}s by pid {lock.holder()}; is that process "
                                "stuck? Stop it and try again")
        try:
            yield
        finally:
            lock.release()

    def _write(self, state: FeatureState) -> None:
        write_atomic(self.paths.state_file, state.model_dump_json(indent=2) + "\n")


def write_atomic(path: Path, text: str, durable: bool = True) -> None:
    """Replace `path` with `text` so readers see the old or the new file, never a mix
    (`durable`: synced to disk first, so a crash leaves one of the two as well)."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        Path(temp).replace(path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def write_if_changed(path: Path, text: str) -> None:
    try:
        if path.read_text() == text:
            return
    except OSError:
        pass
    write_atomic(path, text)
