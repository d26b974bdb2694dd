"""`dispatch tell`: a word to a worker. A running session's current run is stopped cleanly
(its whole process group, as `stop` does) and the same session is resumed in its worktree
with the message as its prompt; a session that is not running is resumed with it. The
message goes into the record's notes and into the run's log (its first line)."""

from __future__ import annotations

from dispatch.commands import resume
from dispatch.core.errors import DispatchError
from dispatch.sessions import client
from dispatch.state.model import now
from dispatch.state.paths import FeaturePaths
from dispatch.state.store import StateStore

MAX_MESSAGE = 20_000


def tell(paths: FeaturePaths, names: list[str], message: str, *, all_running: bool,
         claude: str | None) -> tuple[list[str], client.Supervision]:
    text = message.strip()
    if not text:
        raise DispatchError("the message is empty: say what the worker should do")
    if len(text) > MAX_MESSAGE:
        raise DispatchError(f"the message is {len(text):,} characters; keep it under "
                            f"{MAX_MESSAGE:,} (point the worker at a file for more)")
    store = StateStore(paths)
    state = store.load()
    if all_running == bool(names):
        raise DispatchError("name the workstreams to tell, or pass --all (every running one)")
    chosen = names or [r.name for r in state.workstreams.values() if r.status == "running"]
    if not chosen:
        raise DispatchError("no workstream is running; name the ones to tell")
    done = [n for n in chosen if state.workstreams[n].status == "done"]
    if done:
        raise DispatchError(f"{', '.join(done)} is done; 'dispatch resume {done[0]} --prompt "
                            "...' reopens a finished workstream on purpose")
    stamp = now().strftime("%H:%M:%S")
    store.set_many({n: {"notes": [*state.workstreams[n].notes, f"told at {stamp}: {text}"][-20:]}
                    for n in chosen})
    return chosen, resume.requeue(paths, chosen, prompt=text, force=True, claude=claude)
