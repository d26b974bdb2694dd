"""`dispatch split`: read a work list, cut its files into even groups, write the spec.

Everything that can refuse runs before the spec is written: the options, the input, every
path it names. The spec is then checked by the same parser `dispatch plan` uses before it
takes its place in specs/ (written beside it and renamed), so what is left behind is either
nothing or a spec that plans.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from dispatch.commands.split import formats
from dispatch.commands.split.balance import BY, cut
from dispatch.commands.split.items import FileWork, Item
from dispatch.commands.split.locate import Locator
from dispatch.commands.split.spec_text import Header, draft, render
from dispatch.core.errors import DispatchError
from dispatch.core.text import shown, visible_line
from dispatch.gitops import tree
from dispatch.spec.source import MAX_SPEC_BYTES
from dispatch.state import names
from dispatch.state.plan import Plan

MAX_INPUT_BYTES = 64 * 1024 * 1024
MAX_BATCH = 10_000  # the queue's limit (state/plan.py QueueSettings)


@dataclass
class SplitRequest:
    name: str
    into: int
    by: str = "file"
    pathspecs: list[str] = field(default_factory=list)
    items: str | None = None  # a file, or "-" for stdin
    input_format: str | None = None
    task: str | None = None
    task_file: str | None = None
    batch_size: int | None = None
    force: bool = False


@dataclass
class SplitOutcome:
    spec: Path
    plan: Plan
    input_format: str  # "files" for pathspecs
    items: int  # 0 for a plain list of files
    files: int
    notes: list[str] = field(default_factory=list)


@dataclass
class _Work:
    files: list[FileWork]
    fmt: str
    items: int
    source: str


def split(root: Path, cwd: Path, request: SplitRequest) -> SplitOutcome:
    _check(request)
    task = _task(request, cwd)
    work = _work(root, cwd, request)
    groups = cut(work.files, request.into, request.by)
    notes = []
    if len(groups) < request.into:
        unit = "folders" if request.by == "dir" else "files"
        count = len({str(Path(f.path).parent) for f in work.files}) if request.by == "dir" \
            else len(work.files)
        notes.append(f"{count} {unit} to share: {len(groups)} workstreams instead of "
                     f"{request.into}")
    drafted = draft(groups, request.by, grouped=request.batch_size is None)
    path = root / "specs" / f"{time.strftime('%Y_%m_%d')}_{request.name}.md"
    if path.exists() and not request.force:
        raise DispatchError(f"{os.path.relpath(path, cwd)} already exists: edit it, choose "
                            "another --name, or pass --force to replace it")
    counted = f"{work.items} items in {len(work.files)} files" if work.items else \
        f"{len(work.files)} files"
    about = (f"Made by `dispatch split` from {work.source} ({work.fmt}: {counted}), cut by "
             f"{request.by} into {len(groups)} workstreams. Review and edit it, then run "
             f"`dispatch start {path.relative_to(root).as_posix()}`.")
    header = Header(request.name, f"{request.name}: {_first_line(task)}", about, task,
                    request.batch_size)
    text = render(header, drafted)
    if len(text.encode()) > MAX_SPEC_BYTES:
        raise DispatchError(f"the spec would be {len(text.encode()) >> 20} MB, over the "
                            f"{MAX_SPEC_BYTES >> 20} MB a spec may be: split fewer items at a "
                            "time (e.g. one rule or folder of the report)")
    plan = _write_checked(path, text)
    return SplitOutcome(path, plan, work.fmt, work.items, len(work.files), notes)


def _check(request: SplitRequest) -> None:
    names.check_feature_name(request.name)
    if request.by not in BY:
        raise DispatchError(f"--by {shown(request.by)}: use one of {', '.join(BY)}")
    if request.into < 1:
        raise DispatchError(f"--into {request.into}: split into at least 1 workstream")
    if request.batch_size is not None and not 1 <= request.batch_size <= MAX_BATCH:
        raise DispatchError(f"--batch-size {request.batch_size}: give a batch 1 to {MAX_BATCH:,} "
                            "items")
    if request.items is not None and request.pathspecs:
        raise DispatchError("pass either files (pathspecs) or --items FILE, not both")
    if request.items is None and not request.pathspecs:
        raise DispatchError("nothing to split: pass files (git pathspecs such as 'src/*.py') "
                            "or --items FILE (a list, or a linter's output; - for stdin)")
    if request.items is None and request.input_format is not None:
        raise DispatchError("--input-format applies to --items; files are listed by git")


def _task(request: SplitRequest, cwd: Path) -> str:
    if request.task is not None and request.task_file is not None:
        raise DispatchError("pass either --task or --task-file, not both")
    if request.task_file is not None:
        text = _read(request.task_file, cwd, "--task-file")
    elif request.task is not None:
        text = request.task
    else:
        raise DispatchError("say what every workstream must do: --task 'Fix these ...' or "
                            "--task-file instructions.md")
    if not text.strip():
        raise DispatchError("the task is empty: say what every workstream must do")
    return text.strip()


def _work(root: Path, cwd: Path, request: SplitRequest) -> _Work:
    if request.items is None:
        return _listed_files(root, cwd, request.pathspecs)
    locator = Locator.of(root, cwd)
    text = _read(request.items, cwd, "--items")
    fmt, items = formats.parse(text, request.input_format, locator.is_file)
    if not items:
        raise DispatchError(f"no items found in {shown(request.items)} (read as {fmt}): "
                            "nothing to split; pass --input-format if it was misread")
    files = _by_file(items, locator, fmt)
    source = "stdin" if request.items == "-" else f"`{visible_line(request.items)}`"
    if fmt == "list" and all(i.line is None and not i.message for i in items):
        for work in files:  # a plain list of files: balanced by size
            work.items, work.size = [], locator.size(work.path)
        return _Work(files, fmt, 0, source)
    return _Work(files, fmt, len(items), source)


def _listed_files(root: Path, cwd: Path, pathspecs: list[str]) -> _Work:
    found = tree.tracked_files(cwd, pathspecs)
    if not found:
        raise DispatchError(f"no tracked file matches {' '.join(shown(p) for p in pathspecs)}"
                            ": check the pattern (git pathspecs, relative to this folder)")
    locator = Locator(root, cwd)
    files = [FileWork(path, size=locator.size(path)) for path in found]
    source = "files matching " + " ".join(f"`{visible_line(p)}`" for p in pathspecs)
    return _Work(files, "files", 0, source)


def _by_file(items: list[Item], locator: Locator, fmt: str) -> list[FileWork]:
    files: dict[str, FileWork] = {}
    for item in items:
        path = locator.find(item.file)
        if path is None:
            raise DispatchError(f"item {item.source_line} of the {fmt} input names "
                                f"{shown(item.file)}, which is no file of this repository: "
                                "run dispatch split from the folder the tool ran in")
        if "`" in path:
            raise DispatchError(f"{shown(path)} holds a backquote, which a spec cannot quote: "
                                "rename the file or leave it out of the list")
        files.setdefault(path, FileWork(path)).items.append(
            Item(path, item.line, item.rule, item.severity, item.message, item.source_line))
    return sorted(files.values(), key=lambda f: f.path)


def _read(given: str, cwd: Path, option: str) -> str:
    if given == "-":
        data = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
    else:
        try:
            with (cwd / given).open("rb") as handle:
                data = handle.read(MAX_INPUT_BYTES + 1)
        except OSError as exc:
            raise DispatchError(f"{option} {shown(given)}: cannot read it ({exc.strerror})") \
                from None
    if len(data) > MAX_INPUT_BYTES:
        raise DispatchError(f"{option} {shown(given)} is over {MAX_INPUT_BYTES >> 20} MB: "
                            "split a smaller list")
    if b"\x00" in data:
        raise DispatchError(f"{option} {shown(given)} is binary, not text")
    return data.decode("utf-8-sig", errors="replace").replace("\r\n", "\n")


def _write_checked(path: Path, text: str) -> Plan:
    """Parse the spec as `dispatch plan` will, then put it in place (never half-written)."""
    from dispatch.spec.parse import parse_spec

    path.parent.mkdir(exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("x", encoding="utf-8") as out:  # the user's umask, as any file
            out.write(text)
        plan = parse_spec(temporary, display=os.path.relpath(path))
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return plan.model_copy(update={"spec": str(path)})


def _first_line(task: str) -> str:
    line = visible_line(task.strip().splitlines()[0]).lstrip("#").strip()
    return line if len(line) <= 70 else line[:67].rsplit(" ", 1)[0].rstrip(",;:") + "..."
