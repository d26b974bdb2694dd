"""The checks of a misbehaving-worker trial (tests/support/campaign.py). Each returns the
problems it found, one line each, instead of asserting: a failed trial shows all of them.

1. no commit that was reachable after any step (or when a worker's run ended) is lost;
2. no file the person had, and no file a worker wrote as work, is gone;
3. sessions.json, while it exists, parses and validates;
4. every command exits 0, 1 or 2 with a clean message, and none hangs; a `clean` that stops
   on an error has changed nothing; the supervisor met no exception (it survives one by
   failing that workstream, but the exception is still a bug);
5. no process is left, except a worker's child that escaped into a session of its own
   (reported as a finding: dispatch could not have known it).
Plus what issue 17 asks of integration: no working files in it, nothing reported merged
that is not in it, nothing `done` without commits of its own; and nothing from a worker or a
file name reaches a terminal or a file raw, nor the secret behind a link.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import time
from pathlib import Path
from typing import Any

import psutil

from dispatch.state.paths import FeaturePaths
from dispatch.state.store import StateStore
from tests.support import reach
from tests.support.campaign import PLANTED, Scene
from tests.support.crash import FEATURE, Ran
from tests.support.misbehaving_worker import identity

SECRET = PLANTED["secret.txt"].strip()
RAW_CONTROL = ("\x1b", "\x07")
# A child that a run left in a session of its own, after ending normally: nothing ties it
# to dispatch but its environment and folder. Allowed, and reported.
ESCAPED = {"background_setsid", "daemon_double_fork"}


def command_problems(step: str, ran: Ran) -> list[str]:
    problems = []
    first = ran.output.strip().splitlines()[0][:1000] if ran.output.strip() else ""
    if ran.code is None:
        problems.append(f"{step}: hung (killed after its timeout)")
    elif ran.code not in (0, 1, 2):
        problems.append(f"{step}: exit {ran.code} ({first})")
    if "Traceback (most recent call last)" in ran.output:
        problems.append(f"{step}: printed a traceback")
    if "unexpected error" in ran.output and ran.code != 70:
        problems.append(f"{step}: printed 'unexpected error'")
    if any(c in ran.output for c in RAW_CONTROL):
        problems.append(f"{step}: printed raw terminal control characters")
    if SECRET in ran.output:
        problems.append(f"{step}: printed the secret a worker linked to")
    return problems


def state_problems(scene: Scene, step: str) -> list[str]:
    if not (scene.feature_dir / "sessions.json").exists():
        return []
    ran = scene.status(FEATURE, "--json")
    problems = [f"status --json after {step}: {p}" for p in command_problems("status", ran)]
    if ran.code != 0:
        problems.append(f"status --json after {step}: exit {ran.code}")
    else:
        try:
            json.loads(ran.output)
        except ValueError as exc:
            problems.append(f"status --json after {step}: not JSON ({exc})")
    try:
        StateStore(FeaturePaths(scene.repo, FEATURE)).load()
    except Exception as exc:
        problems.append(f"sessions.json after {step} does not validate: {exc!r}"[:300])
    return problems


def raw_state(scene: Scene) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads((scene.feature_dir / "sessions.json").read_text())
    except (OSError, ValueError):
        return {}
    return data


def integration_problems(scene: Scene) -> list[str]:
    state = raw_state(scene)
    integration = state.get("integration") or {}
    branch = integration.get("branch")
    problems = []
    for name, record in (state.get("workstreams") or {}).items():
        if record["status"] == "done" and record.get("commits", 0) <= 0:
            problems.append(f"{name} is done with {record.get('commits')} commits of its own")
    if not branch or reach.git_out(scene.repo, "rev-parse", "-q", "--verify",
                                   f"refs/heads/{branch}") is None:
        return problems
    paths = (reach.git_out(scene.repo, "ls-tree", "-r", "--name-only", branch) or "").split()
    carried = [p for p in paths if p == ".workstream" or p.startswith(".workstream/")]
    if carried:
        problems.append(f"the integration branch carries working files: {carried}")
    for name, merge in (integration.get("merges") or {}).items():
        tip = merge.get("tip")
        if merge.get("status") == "merged" and tip and reach.git_out(
                scene.repo, "merge-base", "--is-ancestor", tip, branch) is None:
            problems.append(f"{name} is recorded merged but {tip[:10]} is not in {branch}")
    report = scene.feature_dir / "INTEGRATION.md"
    text = report.read_text(errors="replace") if report.is_file() else ""
    if any(c in text for c in RAW_CONTROL):
        problems.append("INTEGRATION.md holds raw terminal control characters")
    return problems


def half_done(scene: Scene, ran: Ran, before: dict[str, str]) -> list[str]:
    """A command that stops on an error must not have changed things first (a refusal is
    decided before anything is touched; `clean`'s own refusals print "kept ..." and go on):
    `before` is tips() from before it ran."""
    error = next((line for line in ran.output.splitlines()
                  if line.startswith("dispatch: error:")), None)
    if ran.code != 1 or error is None:
        return []
    after = reach.tips(scene.repo)
    changed = [label for label in set(before) | set(after) if before.get(label) != after.get(label)]
    return [f"clean failed half-way ({error[:300]}) after changing {len(changed)} refs and "
            "worktree HEADs"] if changed else []


def supervisor_problems(scene: Scene, state: dict[str, Any]) -> list[str]:
    """The supervisor survives a run's exception by failing that workstream alone; the
    exception is still a bug (or a message that misleads): one line each."""
    problems = []
    for name, record in (state.get("workstreams") or {}).items():
        error = record.get("error") or ""
        if re.search(r"dispatch (could not record this run|failed while)", error):
            problems.append(f"{name}: the supervisor failed on its run: {error[:300]}")
        if "git is not installed" in error:
            problems.append(f"{name}: its error says git is not installed: {error[:300]}")
    log = scene.feature_dir / "logs" / "supervisor.log"
    text = log.read_text(errors="replace") if log.is_file() else ""
    raised = dict.fromkeys(re.findall(r"^\w[\w.]*(?:Error|Exception)\b.*$", text, re.M))
    return problems + [f"supervisor.log: {line[:300]}" for line in raised]


def lost_commits(scene: Scene) -> list[str]:
    """Against everything recorded after each step, and each workstream's last run's exit."""
    recorded = dict(scene.recorded)
    last: dict[str, dict[str, Any]] = {}
    for line in scene.exits():
        last[str(line["ws"])] = line
    for ws, line in last.items():
        recorded.update({f"{ws}'s last run: {k}": v for k, v in line["kept"].items()})
    recorded.update(scene.late_commits())
    problems = [f"lost {label} ({sha[:10]})" for label, sha in
                sorted(reach.lost(scene.repo, recorded).items())]
    return problems + [f"lost between runs: {line}" for line in scene.lost_between_runs()]


def main_files(repo: Path) -> dict[str, str]:
    """The person's checkout as it is on disk (not .git, not dispatch's .worktrees)."""
    found = {}
    for path in sorted(repo.rglob("*")):
        parts = path.relative_to(repo).parts
        if parts[0] in (".git", ".worktrees") or not path.is_file() or path.is_symlink():
            continue
        found["/".join(parts)] = identity(path)
    return found


def file_problems(scene: Scene, before: dict[str, str]) -> list[str]:
    problems = []
    for rel, ident in before.items():
        path = scene.repo / rel
        if not path.is_file() or identity(path) != ident:
            problems.append(f"the person's file {rel} is gone or changed")
    for name, text in PLANTED.items():
        path = scene.outside / "planted" / name
        if not path.is_file() or path.read_text() != text:
            problems.append(f"the planted file outside the repository {name} changed")
    extra = {p.name for p in (scene.outside / "planted").iterdir()} - set(PLANTED)
    if extra:
        problems.append(f"new files beside the planted ones: {sorted(extra)}")
    return problems + _worker_files(scene) + _outside_writes(scene) + _leaks(scene)


def _worker_files(scene: Scene) -> list[str]:
    """A file a worker wrote as work stays: where it was, archived, or in a commit."""
    wanted: dict[str, str] = {}
    for line in scene.exits():
        wanted.update(line["files"])
    archive = scene.repo / ".worktrees" / ".archive"
    archived = [p for p in archive.rglob("*") if p.is_file()] if archive.is_dir() else []
    blobs: set[str] | None = None
    problems = []
    for name, ident in sorted(wanted.items()):
        path = Path(name)
        if path.is_file() and identity(path) == ident:
            continue
        if any(identity(p) == ident for p in archived):  # (perhaps renamed: kept aside)
            continue
        if blobs is None:
            listed = reach.git_out(scene.repo, "rev-list", "--all", "--objects") or ""
            blobs = {line.split(" ", 1)[0] for line in listed.splitlines()}
        if ident not in blobs:
            problems.append(f"a worker's file {path} is gone (not in place, not archived, "
                            "not committed)")
    return problems


def _outside_writes(scene: Scene) -> list[str]:
    """Outside the repository, dispatch writes nothing: only what workers wrote is there."""
    written = {k for line in scene.exits() for k in line["files"]}
    links = scene.outside / "links"
    found = [p for p in links.rglob("*") if p.is_file()] if links.is_dir() else []
    return [f"something wrote {p} through a worker's link" for p in found
            if str(p) not in written]


def _leaks(scene: Scene) -> list[str]:
    """The secret a worker linked RESULTS.md to is never read into dispatch's files."""
    folder = scene.repo / ".worktrees"
    problems = []
    for path in folder.rglob("*") if folder.is_dir() else []:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > 1024 * 1024 or \
                ".git" in path.parts:
            continue
        if SECRET in path.read_text(errors="replace"):
            problems.append(f"the secret behind a worker's link was copied into {path}")
    return problems


def _ours(scene: Scene) -> dict[int, str]:
    """pid -> command line of every live process this trial started (its environment
    names the trial's worker state)."""
    found = {}
    for process in psutil.process_iter(["pid", "environ", "cmdline", "status"]):
        info = process.info
        if process.pid == os.getpid() or info.get("status") == psutil.STATUS_ZOMBIE:
            continue
        if (info.get("environ") or {}).get("MISBEHAVE_STATE") == str(scene.state):
            found[process.pid] = " ".join(info.get("cmdline") or [])[:200]
    return found


def left_children(scene: Scene) -> dict[int, str]:
    """pid -> the misbehaviour whose run deliberately left it running."""
    found = {}
    for line in scene.exits():
        name, every = scene.trial.workers.get(str(line["ws"]), ("good", False))
        if line["run"] == 1 or every:
            found.update(dict.fromkeys(line["children"], name))
    return found


def process_problems(scene: Scene, patience: float = 5.0) -> tuple[list[str], list[str]]:
    """(problems, findings): what is still running once things had `patience` to end."""
    children = left_children(scene)
    allowed = {pid for pid, name in children.items() if name in ESCAPED}
    deadline = time.monotonic() + patience
    left = _ours(scene)
    while set(left) - allowed and time.monotonic() < deadline:
        time.sleep(0.1)
        left = _ours(scene)
    problems = [f"process left: {pid} {cmd}" + (
        f" (a child {children[pid]} left in its run's process group)"
        if children.get(pid) == "background_nohup" else "")
        for pid, cmd in left.items() if pid not in allowed]
    findings = [f"{children[pid]}: its escaped child {pid} ({cmd}) outlived the run, clean "
                "and everything" for pid, cmd in left.items() if pid in allowed]
    return problems, findings


def kill_leftovers(scene: Scene) -> None:
    """Teardown: end what this trial started and left (by pid; see _ours)."""
    for pid in _ours(scene):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
