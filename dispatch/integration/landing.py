"""The autopilot's merges: `python -m dispatch.integration.landing <root> <feature> <ws>...`.

The supervisor starts this process (detached, output in logs/landing.log) when workstreams
are done and ready to land; it merges exactly those into the integration branch as
`dispatch integrate --only` would (the same merges, verify, batches and report), so that a
long verify never stalls the supervisor's loop. Exit codes: 0 all landed, 1 some did not (the
merge records say why), 2 it could not integrate at all, 3 another integrate holds the
feature's lock (try again later), 4 it crashed (the traceback is in logs/landing.log).
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

from dispatch.core.errors import BusyError, DispatchError
from dispatch.integration import merge_queue, report
from dispatch.state.locks import try_lock
from dispatch.state.model import now
from dispatch.state.paths import FeaturePaths
from dispatch.state.store import StateStore

BUSY = 3
CRASHED = 4


def land(paths: FeaturePaths, names: list[str]) -> int:
    state = StateStore(paths).load()
    assert state.run is not None
    options = merge_queue.IntegrateOptions(only=names, batch=state.run.batch)
    outcome = merge_queue.integrate(paths, options, progress=_say)
    report.write(paths, outcome.state, outcome.prediction,
                 merge_queue.branch_tips(paths, outcome.state, {}))
    for name in names:
        record = outcome.state.integration.merges.get(name) if outcome.state.integration \
            else None
        _say(f"{name}: {record.status if record else 'not merged'}"
             f"{f' ({record.reason})' if record and record.reason else ''}")
    return 1 if outcome.left_out else 0


def refresh_report(paths: FeaturePaths) -> bool:
    """Write INTEGRATION.md again from the state as it is now (the sessions' statuses and fix
    rounds move on after the last landing wrote it); False when an integrate holds the lock."""
    try:
        lock = try_lock(paths.lock("integrate"), "busy", "later")
    except BusyError:
        return False
    try:
        state = StateStore(paths).load()
        if state.integration is None:
            return True
        tips = merge_queue.branch_tips(paths, state, {})
        report.write(paths, state, merge_queue.predict(paths, state, tips), tips)
        return True
    finally:
        lock.release()


def _say(message: str) -> None:
    print(f"[{now().isoformat(timespec='seconds')}] {message}", flush=True)


def main(argv: list[str]) -> int:
    paths = FeaturePaths(Path(argv[0]), argv[1])
    try:
        return land(paths, argv[2:])
    except BusyError as exc:
        _say(str(exc))
        return BUSY
    except DispatchError as exc:
        _say(f"could not land {', '.join(argv[2:])}: {exc}")
        return 2
    except Exception:  # a bug, or something in the way: the supervisor must not retry forever
        _say(f"could not land {', '.join(argv[2:])}:\n{traceback.format_exc()}")
        return CRASHED


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
