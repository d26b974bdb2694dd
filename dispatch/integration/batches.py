"""Merging in batches: several ready branches merged in memory one after another, verify run
once on the result, and a red batch searched for the merge that breaks it (bisect.py).

A batch's commits are verified in scratch worktrees (`.worktrees/<feature>/.verify/<n>`,
detached, each with its own ports and .env), up to `verify_jobs` at once; the integration
worktree only ever moves to a commit verify passed on. Records are saved as each batch lands,
as the one-at-a-time queue saves each merge.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from dispatch.core import files
from dispatch.gitops import worktrees
from dispatch.integration import bisect
from dispatch.state.model import FeatureState, MergeRecord
from dispatch.workspace import ports
from dispatch.workspace.envfile import read_root_env, write_worktree_env
from dispatch.workspace.verify import run_verify

if TYPE_CHECKING:
    from dispatch.integration.merge_queue import Pending, _Run

MergeOn = Callable[["_Run", FeatureState, str, "str | None", str], "MergeRecord | Pending | None"]
SCRATCH = ".verify"


def land(run: _Run, state: FeatureState, queue: list[str], tips: dict[str, str],
         merge_on: MergeOn, advance: Callable[[_Run, str], None]) -> dict[str, MergeRecord]:
    """Merge `queue` in batches on top of `run.head`; returns the records, saved as they land."""
    from dispatch.integration.merge_queue import Pending

    records: dict[str, MergeRecord] = {}
    pending = list(queue)
    number = _last_batch(state)
    with _scratch(run, state) as slots:
        while pending:
            number += 1
            chain: list[tuple[str, Pending]] = []
            decided: list[tuple[int, str, MergeRecord | None]] = []
            head = run.head
            for name in pending:
                found = merge_on(run, state, name, tips.get(name), head)
                if isinstance(found, Pending):
                    chain.append((name, found))
                    head = found.commit
                else:  # (a conflict here is with the merges before it in this batch)
                    decided.append((len(chain), name, found))
            blamed, flaky, logs = _search(run, slots, number, chain)
            cut = len(chain) if blamed is None else blamed - 1
            landed = {name: MergeRecord(
                status="merged", tip=merge.tip, commit=merge.commit, batch=number,
                verify_log=logs.get(len(chain) if blamed is None else cut),
                flaky=_flaky_note(run, flaky, position)) for position, (name, merge)
                in enumerate(chain[:cut], start=1)}
            if cut:
                run.head = chain[cut - 1][1].commit
                advance(run, run.head)
            # What was decided before the blamed merge stands; after it, it is decided again
            # on top of what landed (a conflict with the blamed merge is no conflict now).
            landed.update({name: record for position, name, record in decided
                           if record is not None and (blamed is None or position < blamed)})
            if blamed is not None:
                name, merge = chain[blamed - 1]
                landed[name] = MergeRecord(
                    status="verify_failed", tip=merge.tip, verify_log=logs.get(blamed),
                    batch=number, reason=f"`{run.verify}` failed after the merge (twice), "
                    f"and passed without it; it was left out")
                later = {n for n, _ in chain[blamed:]} | {
                    n for position, n, _ in decided if position >= blamed}
                pending = [n for n in pending if n in later]
            else:
                pending = []
            _save(run, state, landed)
            records.update(landed)
    return records


def _search(run: _Run, slots: _Slots, number: int,
            chain: list[tuple[str, Pending]]) -> tuple[int | None, list[int], dict[int, str]]:
    """(the blamed prefix or None, the prefixes that were flaky, each prefix's last log)."""
    if not chain:
        return None, [], {}
    names = ", ".join(name for name, _ in chain)
    run.progress(f"batch {number}: verifying {len(chain)} merge(s) at once ({names})")
    logs: dict[int, str] = {}
    probe = partial(slots.verify, [merge.commit for _, merge in chain], number, logs)
    found = bisect.first_failing(len(chain), probe, max(1, run.batch_jobs))
    if found.first_failing is None:
        run.progress(f"batch {number}: verify passed ({found.runs} run(s))")
    else:
        run.progress(f"batch {number}: {chain[found.first_failing - 1][0]} breaks verify "
                     f"(found in {found.runs} runs)")
    return found.first_failing, found.flaky, logs


def _flaky_note(run: _Run, flaky: list[int], position: int) -> str | None:
    if position not in flaky:
        return None
    return (f"`{run.verify}` failed once with the merges up to this one and passed when run "
            "again: a flaky test?")


def _save(run: _Run, state: FeatureState, records: dict[str, MergeRecord]) -> None:
    assert state.integration is not None
    state.integration.merges.update(records)
    run.store.update(partial(_record, records=records))


def _record(state: FeatureState, records: dict[str, MergeRecord]) -> None:
    assert state.integration is not None
    state.integration.merges.update(records)


def _last_batch(state: FeatureState) -> int:
    assert state.integration is not None
    return max((r.batch or 0 for r in state.integration.merges.values()), default=0)


def _own_folder(folder: Path) -> None:
    """The scratch folder as a plain folder of dispatch's. The feature folder is the workers'
    to write: a link or a file a worker put where it goes is set aside, never followed (a
    link to a folder elsewhere must not have its contents replaced or removed)."""
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        _set_aside(folder)
    folder.mkdir(parents=True, exist_ok=True)


def _set_aside(path: Path) -> None:
    """Out of dispatch's way, never followed; `clean` archives it and names it."""
    files.rename_aside(path, lambda tag: f"{path.name}.aside-{tag}")


class _Slots:
    """Scratch worktrees made as they are first needed, each with ports of its own."""

    def __init__(self, run: _Run, state: FeatureState) -> None:
        self.run, self.state = run, state
        self.folder = run.paths.dir / SCRATCH
        self.made: list[tuple[Path, dict[str, str]]] = []

    def verify(self, commits: list[str], number: int, logs: dict[int, str],
               prefixes: list[int]) -> dict[int, bool]:
        while len(self.made) < len(prefixes):
            self.made.append(self._make(len(self.made), commits[0]))
        with ThreadPoolExecutor(len(prefixes)) as pool:
            done = pool.map(lambda job: self._one(job[0], commits[job[1] - 1], number,
                                                  job[1], logs), enumerate(prefixes))
            return dict(zip(prefixes, done, strict=True))

    def _one(self, slot: int, commit: str, number: int, prefix: int,
             logs: dict[int, str]) -> bool:
        path, env = self.made[slot]
        worktrees.move_detached(path, commit)
        log = self.run.paths.logs / f"integration.verify.batch{number}.{prefix}.log"
        logs[prefix] = self.run.paths.relative(log)
        assert self.run.verify is not None
        return run_verify(self.run.verify, path, env, log)

    def _make(self, slot: int, commit: str) -> tuple[Path, dict[str, str]]:
        root = self.run.paths.root
        _own_folder(self.folder)
        path = self.folder / str(slot + 1)
        if path.is_symlink() or path.exists():
            listed = {w.path.resolve() for w in worktrees.listed(root)}
            if not path.is_symlink() and path.resolve() in listed:
                worktrees.remove(root, path)  # dispatch's own, left by a run that was killed
            else:
                _set_aside(path)
        worktrees.add_detached(root, path, commit)
        assert self.state.integration is not None
        bases = self.state.integration.ports
        given = ports.assign(bases, slot + 1, ports.recorded_ports(self.run.paths.root)) \
            if bases else {}
        env = read_root_env(self.run.paths.root)
        if env is not None:
            write_worktree_env(env, path, given)
        return path, {key: str(port) for key, port in given.items()}

    def remove(self) -> None:
        for path, _ in self.made:
            worktrees.remove(self.run.paths.root, path)
        with contextlib.suppress(OSError):
            self.folder.rmdir()  # (only when empty: nothing else is ever lost)


@contextmanager
def _scratch(run: _Run, state: FeatureState) -> Iterator[_Slots]:
    slots = _Slots(run, state)
    try:
        yield slots
    finally:
        slots.remove()
