"""A worker's background child that commits after its run has ended (misbehaviours
late_commit and commit_during_clean): it waits `seconds`, or until a file matching `pattern`
exists under `folder`, or until it is told to stop (SIGTERM: it saves its work first, as a
well-behaved tool does), commits in its working folder and logs the commit to
<state>/late.jsonl, so the campaign can check that nobody lost it.

    python -m tests.support.late_committer <state> <ws> <seconds> [<folder> <pattern>]
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path


def wait(seconds: float, folder: Path | None, pattern: str) -> None:
    told = []
    signal.signal(signal.SIGTERM, lambda *_: told.append(True))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not told:
        if folder is not None and any(folder.glob(pattern)):
            return
        time.sleep(0.01)


def main(argv: list[str]) -> int:
    state, ws, seconds = Path(argv[0]), argv[1], float(argv[2])
    wait(seconds, Path(argv[3]) if len(argv) > 4 else None, argv[-1])
    late = Path("work") / f"{ws}-late.txt"
    late.parent.mkdir(exist_ok=True)
    with late.open("a") as out:
        out.write("late\n")
    subprocess.run(["git", "add", "-A"], capture_output=True, check=False)
    done = subprocess.run(["git", "commit", "-q", "-m", f"{ws}: late"], capture_output=True,
                          check=False)
    head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=False).stdout.strip()
    if done.returncode == 0 and head:
        with (state / "late.jsonl").open("a") as log:
            log.write(json.dumps({"ws": ws, "commit": head, "time": time.time()}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
