"""Where a feature's files live under `.worktrees/` (no heavy imports: status uses it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dispatch.core.errors import DispatchError

WORKTREES = ".worktrees"
ARCHIVE = ".archive"  # beside the features: `.worktrees/.archive/<feature>-<time>/`

# Everything dispatch keeps in `.worktrees/<feature>/` beside the workstreams' worktrees. A
# workstream's worktree is `.worktrees/<feature>/<name>`, so no workstream may be named like
# one of these (names.RESERVED_WORKSTREAMS is derived from this table); locks are
# `.<purpose>.lock`, hidden names no workstream can have.
STATE_FILE = "sessions.json"
PLAN_FILE = "plan.json"
COORDINATION = "COORDINATION.md"
REPORT = "INTEGRATION.md"
LOGS = "logs"
RESULTS = "results"
INTEGRATION = "integration"  # the integration worktree
SPEC_SNAPSHOT = "spec.md"  # the spec as planned: what the workers read
COMPARE = "compare"  # `compare/<workstream>.md`: how a workstream's teams compared
FEATURE_ENTRIES = (STATE_FILE, PLAN_FILE, COORDINATION, REPORT, LOGS, RESULTS, INTEGRATION,
                   SPEC_SNAPSHOT, COMPARE)


@dataclass(frozen=True)
class FeaturePaths:
    root: Path  # the repository's top level
    feature: str

    @property
    def dir(self) -> Path:
        return self.root / WORKTREES / self.feature

    @property
    def state_file(self) -> Path:
        return self.dir / STATE_FILE

    @property
    def plan_file(self) -> Path:
        return self.dir / PLAN_FILE

    @property
    def logs(self) -> Path:
        return self.dir / LOGS

    @property
    def results(self) -> Path:
        return self.dir / RESULTS

    @property
    def coordination(self) -> Path:
        return self.dir / COORDINATION

    @property
    def spec_snapshot(self) -> Path:
        return self.dir / SPEC_SNAPSHOT

    @property
    def report(self) -> Path:
        return self.dir / REPORT

    @property
    def integration(self) -> Path:
        return self.dir / INTEGRATION

    @property
    def compare(self) -> Path:
        return self.dir / COMPARE

    def comparison(self, workstream: str) -> Path:
        """The comparison of a workstream's competing teams (sessions/teams.py)."""
        return self.dir / COMPARE / f"{workstream}.md"

    def activity(self, name: str) -> Path:
        """What a running worker is doing now (written by the supervisor, read by status)."""
        return self.dir / LOGS / f"{name}.activity.json"

    def worktree(self, name: str) -> Path:
        return self.dir / name

    def lock(self, purpose: str) -> Path:
        return self.dir / f".{purpose}.lock"

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()


def features(root: Path) -> list[str]:
    """Features under .worktrees/, by name."""
    base = root / WORKTREES
    if not base.is_dir():
        return []
    # plan.json too: a feature whose sessions.json was lost is still there (to repair).
    return sorted({p.parent.name for pattern in ("*/sessions.json", "*/plan.json")
                   for p in base.glob(pattern) if not p.parent.name.startswith(".")})


def pick_feature(root: Path, given: str | None) -> str:
    """The feature named, or the only one there is."""
    known = features(root)
    if given is not None:
        if given not in known:
            listing = f" (features here: {', '.join(known)})" if known else ""
            from dispatch.core.text import shown

            raise DispatchError(f"no feature {shown(given)} in {root / WORKTREES}{listing}; start "
                                "one with 'dispatch start specs/<spec>.md'")
        return given
    if not known:
        raise DispatchError("no features yet; start one with 'dispatch start specs/<spec>.md'")
    if len(known) > 1:
        raise DispatchError(f"several features exist ({', '.join(known)}); name one with "
                            f"-f (e.g. -f {known[0]}), or as the first argument of status, "
                            "check, integrate and clean")
    return known[0]
