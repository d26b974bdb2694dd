"""What the misbehaving-worker campaign found (tests/reliability/test_misbehaving_workers.py),
one focused test each, with the stand-in worker misbehaving exactly so. Each is an expected
failure until dispatch is fixed (strict: a fix makes it pass, and then the mark must go).
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from dispatch.sessions import run_result, transitions
from dispatch.sessions.done_check import Check
from dispatch.state.model import RunSettings, SessionRecord, now
from tests.support.campaign import START_ARGS, Scene, Trial, set_up
from tests.support.campaign_checks import kill_leftovers
from tests.support.crash import FEATURE, Ran, stop_everything, supervisor_processes
from tests.support.misbehaviours.results import ESCAPES
from tests.support.reach import git_out, lost

RAW = ("\x1b", "\x07")


def scene_of(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ws: str, misbehaviour: str,
             **extra: object) -> Scene:
    return set_up(tmp_path, Trial(0, {ws: (misbehaviour, False)}), monkeypatch, **extra)


def started(scene: Scene, *more: str) -> Ran:
    ran = scene.dispatch("start", *START_ARGS, *more)
    assert ran.code in (0, 1), ran
    return ran


def integrated(scene: Scene) -> Ran:
    started(scene)
    return scene.dispatch("integrate", "integrate")


def archive_files(scene: Scene) -> list[Path]:
    archive = scene.repo / ".worktrees" / ".archive"
    return [p for p in archive.rglob("*") if p.is_file()] if archive.is_dir() else []


# --- clean ----------------------------------------------------------------------------------

def test_clean_keeps_the_branch_of_a_worktree_it_keeps(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Any kept worktree on a merged branch: locked here; dirty, a nested repository, a
    submodule or hooks that fail do the same in the campaign."""
    scene = scene_of(tmp_path, monkeypatch, "api", "lock_worktree")
    assert integrated(scene).code == 0
    clean = scene.dispatch("clean", "clean")
    assert "dispatch: error" not in clean.output, clean
    assert "kept worktree .worktrees/x/api" in clean.output, clean
    assert git_out(scene.repo, "rev-parse", "--verify", "-q", "refs/heads/x/api"), clean
    assert archive_files(scene), f"clean did not get to archiving the state\n{clean}"


def test_clean_does_not_stop_half_way_on_a_committed_workstream_link(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Also symlink_workstream_dir, when the follow-up run commits the link."""
    scene = scene_of(tmp_path, monkeypatch, "cli", "commit_workstream_link")
    integrated(scene)
    clean = scene.dispatch("clean", "clean")
    assert "dispatch: error" not in clean.output, clean
    assert archive_files(scene), f"clean did not get to archiving the state\n{clean}"


def test_clean_keeps_a_workers_notes_in_its_workstream_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scene = scene_of(tmp_path, monkeypatch, "cli", "workstream_notes")
    assert integrated(scene).code == 0
    dry = scene.dispatch("clean", "clean", "--dry-run")
    clean = scene.dispatch("clean", "clean")
    notes = scene.feature_dir / "cli" / ".workstream" / "NOTES.md"
    kept = notes.is_file() or any(p.name == "NOTES.md" for p in archive_files(scene))
    assert kept, f"{dry}\n{clean}"
    assert "would move .worktrees/x/cli/.workstream/ (NOTES.md, RESULTS.md, TASKS.md, " \
           "plan/step-1.md) into the archive" in dry.output, dry


def test_clean_does_not_delete_a_branch_that_moved_after_its_check(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker's background child commits while clean runs (late_commit in the campaign
    lands there by chance; commit_during_clean waits for clean on purpose, and commits when
    clean stops it). Clean keeps the worktree whose HEAD moved and the branch it holds; the
    compare-and-delete under that is proved in tests/unit/test_clean_parts.py."""
    scene = scene_of(tmp_path, monkeypatch, "docs", "commit_during_clean")
    try:
        assert integrated(scene).code == 0
        clean = scene.dispatch("clean", "clean")
        deadline = time.monotonic() + 10
        while not scene.late_commits() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert scene.late_commits(), f"the late commit did not happen\n{clean}"
        assert not lost(scene.repo, scene.late_commits()), clean
    finally:
        kill_leftovers(scene)


def test_clean_survives_a_fifo_in_logs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scene = scene_of(tmp_path, monkeypatch, "web", "fifo_in_logs")
    integrated(scene)
    clean = scene.dispatch("clean", "clean")
    assert clean.code in (0, 1) and "unexpected error" not in clean.output, clean


# --- integrate ------------------------------------------------------------------------------

def test_integrate_keeps_an_integration_md_a_worker_wrote(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scene = scene_of(tmp_path, monkeypatch, "web", "squat_integration_report")
    ran = integrated(scene)
    texts = [p.read_text(errors="replace") for p in (scene.repo / ".worktrees").rglob("*.md")
             if p.is_file() and ".git" not in p.parts]
    assert any("# integration notes of web" in t for t in texts), ran


def test_integrate_survives_a_non_utf8_file_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scene = scene_of(tmp_path, monkeypatch, "web", "non_utf8_name")
    ran = integrated(scene)
    assert ran.code in (0, 1) and "unexpected error" not in ran.output, ran


def test_a_broken_repository_config_is_reported_as_git_says(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scene = scene_of(tmp_path, monkeypatch, "docs", "break_repo_config")
    started(scene)
    status = scene.status(FEATURE)
    assert status.code == 1 and "bad config" in status.output, status


def test_a_deleted_worktree_is_not_reported_as_git_missing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scene = scene_of(tmp_path, monkeypatch, "web", "delete_own_worktree")
    started(scene)
    error = json.loads((scene.feature_dir / "sessions.json").read_text())[
        "workstreams"]["web"]["error"] or ""
    assert "git is not installed" not in error, error


# --- text from workers shown raw ------------------------------------------------------------

def test_status_shows_a_workers_result_text_safely(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scene = scene_of(tmp_path, monkeypatch, "web", "result_escapes")
    started(scene)
    status = scene.status(FEATURE)
    assert not any(c in status.output for c in RAW), status


def test_check_shows_worker_file_names_safely(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scene = scene_of(tmp_path, monkeypatch, "web", "result_escapes")
    started(scene)
    check = scene.dispatch("check", "check", FEATURE)
    assert f"evil{ESCAPES}" not in check.output, check
    assert not any(c in check.output for c in RAW), check


def test_integration_report_shows_worker_text_safely(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scene = scene_of(tmp_path, monkeypatch, "web", "result_escapes")
    integrated(scene)
    report = (scene.feature_dir / "INTEGRATION.md").read_text()
    raw = [line for line in report.splitlines() if any(c in line for c in RAW)]
    assert not raw, raw


# --- results that are not recorded ----------------------------------------------------------

def success(**fields: object) -> bytes:
    body = {"type": "result", "subtype": "success", "is_error": False, "num_turns": 3,
            "duration_ms": 1000, "total_cost_usd": 0.01, "result": "done",
            "session_id": "s", **fields}
    return json.dumps(body).encode()


def test_a_huge_integer_in_a_result_is_named_not_raised() -> None:
    """In the campaign (result_huge_int) start --wait took 35 s and the workstream, whose
    work was complete, ended `failed` ("dispatch could not record this run")."""
    outcome = run_result.interpret(0, success(num_turns=10**400, total_cost_usd=10**400), "")
    assert outcome.kind == "success" and outcome.num_turns == 0, outcome
    assert any("num_turns" in p for p in outcome.problems), outcome


def test_a_lone_surrogate_in_a_result_can_be_recorded() -> None:
    outcome = run_result.interpret(0, success(result="done \ud800", errors=["\udfff"]), "")
    record = SessionRecord(name="api", branch="x/api", path=".worktrees/x/api",
                           status="running")
    transitions.apply(record, outcome, RunSettings(), now(), Check(1))
    record.model_dump_json()  # what the state store writes


def test_deeply_nested_output_is_a_crash_not_an_exception() -> None:
    outcome = run_result.interpret(0, b"[" * 100_000 + b"]" * 100_000, "")
    assert outcome.kind == "crash", outcome


# --- the supervisor and processes -----------------------------------------------------------

def test_a_fifo_for_a_result_does_not_wedge_the_supervisor(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scene = scene_of(tmp_path, monkeypatch, "web", "stdout_fifo")
    try:
        assert scene.dispatch("start", "start", "specs/x.md", "--no-setup").code == 0
        scene.wait_for_exit("web")
        deadline = time.monotonic() + 15
        while supervisor_processes(scene.repo, FEATURE) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not supervisor_processes(scene.repo, FEATURE), \
            "the supervisor still runs 15 s after the last worker ended"
    finally:
        stop_everything(scene.repo)


def test_stop_does_not_signal_a_pid_a_worker_wrote(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run as root, a worker writing 1 there would have `stop` signal every process."""
    decoy = subprocess.Popen(["sleep", "600"], start_new_session=True)
    try:
        scene = scene_of(tmp_path, monkeypatch, "api", "lie_in_supervisor_lock",
                         decoy=decoy.pid)
        assert scene.dispatch("start", "start", "specs/x.md", "--no-setup",
                              "--session-timeout", "60").code == 0
        scene.wait_for_exit("api")
        stop = scene.dispatch("stop", "stop", FEATURE)
        time.sleep(0.5)
        assert decoy.poll() is None, f"dispatch stop killed pid {decoy.pid}\n{stop}"
    finally:
        decoy.kill()
        decoy.wait()
        stop_everything(tmp_path / "repo")


def test_one_supervisor_even_when_its_lock_file_is_deleted(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scene = scene_of(tmp_path, monkeypatch, "api", "delete_locks_and_hang")
    try:
        assert scene.dispatch("start", "start", "specs/x.md", "--no-setup",
                              "--session-timeout", "60").code == 0
        scene.wait_for_exit("api")
        scene.dispatch("start", "start", FEATURE, "--no-setup")
        assert len(supervisor_processes(scene.repo, FEATURE)) == 1, \
            supervisor_processes(scene.repo, FEATURE)
    finally:
        stop_everything(scene.repo)


def test_a_child_left_in_the_runs_group_does_not_outlive_clean(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scene = scene_of(tmp_path, monkeypatch, "cli", "background_nohup")
    try:
        integrated(scene)
        clean = scene.dispatch("clean", "clean")
        children = [c for line in scene.exits() for c in line["children"]]
        assert children, "the worker left no child"
        alive = [pid for pid in children if psutil.pid_exists(pid) and
                 psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
        assert not alive, f"still running after clean: {alive}"
        assert f"stopped process {children[0]} (sleep 600) left working in " \
               ".worktrees/x/cli" in clean.output, clean
    finally:
        stop_everything(scene.repo)
        kill_leftovers(scene)
