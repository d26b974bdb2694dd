"""`dispatch split` end to end: the real ruff's findings over a real repository become a
spec whose workstreams own disjoint files, carry every finding exactly once, are balanced
within one file's worth, and read back through `dispatch plan` as the same plan."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.cli import Result
from tests.support.gitrepo import make_repo, snapshot
from tests.support.sessions import settle, statuses

Cli = Callable[..., Result]
RUFF = Path(sys.executable).parent / "ruff"
ITEM = re.compile(r"`([^`]+):(\d+)` (\S+)")
TASK = "Fix these ruff findings; run `ruff check` on your files before you commit."


def _module(unused: int, compare_none: int) -> str:
    """A module with `unused` unused imports (F401) and `compare_none` `== None` (E711)."""
    modules = ["os", "sys", "json", "re", "math", "time", "glob", "shutil", "string"]
    lines = [f"import {name}" for name in modules[:unused]]
    lines += ["", "", "def check(value):"]
    lines += [f"    if value == None:  # {n}\n        return {n}" for n in range(compare_none)]
    lines.append("    return -1")
    return "\n".join(lines) + "\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A small Python project with a known spread of lint errors, in a real git repo."""
    shape = {"app/core.py": (9, 6), "app/cli.py": (3, 1), "app/db/models.py": (5, 4),
             "app/db/queries.py": (1, 0), "lib/text.py": (2, 2), "lib/io.py": (4, 0),
             "lib/util.py": (1, 1), "scripts/run.py": (6, 3), "tests/test_core.py": (2, 0)}
    files = {path: _module(*counts) for path, counts in shape.items()}
    files["clean.py"] = "VALUE = 1\n"
    return make_repo(tmp_path / "project", files)


def ruff(project: Path, out: Path, fmt: str) -> Path:
    proc = subprocess.run([str(RUFF), "check", "--isolated", "--no-cache", "--select",
                           "F401,E711", "--output-format", fmt, "."], cwd=project,
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 1, proc.stderr  # 1: findings
    out.write_text(proc.stdout)
    return out


def findings(report: Path, project: Path) -> Counter[tuple[str, int, str]]:
    return Counter((Path(f["filename"]).relative_to(project).as_posix(), f["location"]["row"],
                    f["code"]) for f in json.loads(report.read_text()))


def items_of(ws: dict[str, Any]) -> Counter[tuple[str, int, str]]:
    return Counter((path, int(line), rule) for task in ws["tasks"]
                   for path, line, rule in ITEM.findall(task))


def the_spec(project: Path, name: str) -> Path:
    [spec] = (project / "specs").glob(f"*_{name}.md")
    return spec


def test_real_ruff_json_is_split_into_balanced_disjoint_workstreams(
        cli: Cli, project: Path, tmp_path: Path) -> None:
    report = ruff(project, tmp_path / "ruff.json", "json")
    expected = findings(report, project)
    result = cli("split", "--items", str(report), "--into", "3", "--name", "lint", "--task",
                 TASK, "--json", cwd=project)
    assert result.code == 0, result
    spec = the_spec(project, "lint")
    assert result.err == (f"wrote specs/{spec.name} (ruff-json: {sum(expected.values())} items "
                          "in 9 files, 3 workstreams)\n")
    plan = json.loads(result.out)
    workstreams = plan["workstreams"]
    assert [ws["name"] for ws in workstreams] == ["part-1", "part-2", "part-3"]
    owned = [path for ws in workstreams for path in ws["files"]]
    assert sorted(owned) == sorted({path for path, _, _ in expected})  # each file once
    for ws in workstreams:  # a workstream's items are about its own files only
        assert {path for path, _, _ in items_of(ws)} == set(ws["files"])
    assert sum((items_of(ws) for ws in workstreams), Counter()) == expected  # each item once
    per_file = Counter(path for path, _, _ in expected.elements())
    sizes = [sum(items_of(ws).values()) for ws in workstreams]
    assert max(sizes) - min(sizes) <= max(per_file.values())
    assert all(ws["goal"] == TASK for ws in workstreams)
    assert plan["warnings"] == []

    again = cli("plan", str(spec), "--json", cwd=project)  # the spec reads back the same
    assert again.code == 0, again
    assert json.loads(again.out) == plan


def test_ruff_text_forms_give_the_same_split_as_its_json(cli: Cli, project: Path,
                                                        tmp_path: Path) -> None:
    expected = findings(ruff(project, tmp_path / "ruff.json", "json"), project)
    for form in ("concise", "full"):
        report = ruff(project, tmp_path / f"ruff.{form}", form)
        result = cli("split", "--items", str(report), "--into", "4", "--name", form,
                     "--task", TASK, "--json", cwd=project)
        assert result.code == 0, result
        assert "(ruff: " in result.err
        workstreams = json.loads(result.out)["workstreams"]
        assert sum((items_of(ws) for ws in workstreams), Counter()) == expected, form
        assert len(workstreams) == 4


def test_by_rule_keeps_each_file_with_its_most_frequent_rule(cli: Cli, project: Path,
                                                            tmp_path: Path) -> None:
    report = ruff(project, tmp_path / "ruff.json", "json")
    expected = findings(report, project)
    result = cli("split", "--items", str(report), "--into", "3", "--by", "rule", "--name",
                 "rules", "--task", TASK, "--json", cwd=project)
    assert result.code == 0, result
    workstreams = json.loads(result.out)["workstreams"]
    by_file: dict[str, Counter[str]] = {}
    for path, _, rule in expected.elements():
        by_file.setdefault(path, Counter())[rule] += 1
    for ws in workstreams:
        dominant = {min(by_file[p], key=lambda r: (-by_file[p][r], r)) for p in ws["files"]}
        assert len(dominant) == 1, ws["name"]
        assert ws["name"].startswith(next(iter(dominant)).lower())
    assert sum((items_of(ws) for ws in workstreams), Counter()) == expected


def test_the_plan_is_printed_as_dispatch_plan_prints_it(cli: Cli, project: Path,
                                                       tmp_path: Path) -> None:
    report = ruff(project, tmp_path / "ruff.json", "json")
    for fmt in ("plain", "markdown"):
        result = cli("split", "--items", str(report), "--into", "2", "--name", "lint",
                     "--task", TASK, "--format", fmt, "--force", cwd=project)
        assert result.code == 0, result
        planned = cli("plan", str(the_spec(project, "lint")), "--format", fmt, cwd=project)
        assert result.out == planned.out


def test_many_items_are_grouped_per_file_and_the_same_input_gives_the_same_spec(
        cli: Cli, project: Path, tmp_path: Path) -> None:
    report = ruff(project, tmp_path / "ruff.json", "json")
    args = ("split", "--items", str(report), "--into", "1", "--name", "one", "--task", TASK)
    assert cli(*args, cwd=project).code == 0
    spec = the_spec(project, "one")
    first = spec.read_text()
    assert "- [ ] `app/core.py`: 15 items\n  - `app/core.py:1` F401 `os` imported but unused\n" \
        in first
    again = cli(*args, "--force", "--json", cwd=project)
    assert again.code == 0, again
    assert spec.read_text() == first
    [ws] = json.loads(again.out)["workstreams"]
    assert len(ws["tasks"]) == 9  # one per file
    assert sum(items_of(ws).values()) == sum(findings(report, project).values())
    planned = cli("plan", str(spec), "--json", cwd=project)
    assert json.loads(planned.out) == json.loads(again.out)


def test_batch_size_goes_into_the_frontmatter(cli: Cli, project: Path,
                                              tmp_path: Path) -> None:
    report = ruff(project, tmp_path / "ruff.json", "json")
    result = cli("split", "--items", str(report), "--into", "1", "--name", "queued", "--task",
                 TASK, "--batch-size", "5", "--json", cwd=project)
    assert result.code == 0, result
    text = the_spec(project, "queued").read_text()
    assert text.startswith('---\nfeature: "queued"\nqueue:\n  batch_size: 5\n---\n')
    [ws] = json.loads(result.out)["workstreams"]  # 50 items: for the queue, one task each
    assert len(ws["tasks"]) == sum(findings(report, project).values())
    assert all(len(ITEM.findall(task)) == 1 for task in ws["tasks"])


def test_files_are_split_by_size(cli: Cli, project: Path, tmp_path: Path) -> None:
    template = tmp_path / "template.md"
    template.write_text("Add type hints to these files.\n\nKeep behaviour unchanged.\n")
    result = cli("split", "app", "lib/*.py", "--into", "2", "--name", "hints",
                 "--task-file", str(template), "--json", cwd=project)
    assert result.code == 0, result
    workstreams = json.loads(result.out)["workstreams"]
    owned = sorted(path for ws in workstreams for path in ws["files"])
    assert owned == ["app/cli.py", "app/core.py", "app/db/models.py", "app/db/queries.py",
                     "lib/io.py", "lib/text.py", "lib/util.py"]
    sizes = {p: (project / p).stat().st_size for p in owned}
    loads = [sum(sizes[p] for p in ws["files"]) for ws in workstreams]
    assert max(loads) - min(loads) <= max(sizes.values())
    assert [ws["tasks"] for ws in workstreams] == [[f"`{p}`" for p in ws["files"]]
                                                    for ws in workstreams]
    assert workstreams[0]["goal"] == ("Add type hints to these files. (the rest: 'Instructions "
                                      "for every workstream' in the spec)")
    assert "Keep behaviour unchanged." in the_spec(project, "hints").read_text()


def test_more_workstreams_than_files_gives_fewer_and_says_so(cli: Cli, project: Path) -> None:
    result = cli("split", "lib", "--into", "5", "--name", "few", "--task", "Tidy", "--json",
                 cwd=project)
    assert result.code == 0, result
    assert result.err.splitlines()[0] == "note: 3 files to share: 3 workstreams instead of 5"
    assert len(json.loads(result.out)["workstreams"]) == 3


@pytest.mark.parametrize(("args", "message"), [
    (("--items", "../ruff.json", "--into", "0"), "--into 0: split into at least 1 workstream"),
    (("--items", "../ruff.json", "--input-format", "yaml"), "unknown input format 'yaml': use "
     "one of sarif, ruff-json, pylint-json, eslint-json, flake8-json, jsonl, ruff, flake8, "
     "pylint, mypy, eslint, list"),
    (("--items", "../empty.txt"), "the work list is empty: pass a file with one item per line, "
     "or a linter's output"),
    (("--items", "../none.json"), "the tool's output holds no findings: nothing to split"),
    (("--items", "../clean.txt"), "no items found in '../clean.txt' (read as ruff): nothing to "
     "split; pass --input-format if it was misread"),
    (("--items", "../nul.jsonl"), "item 1 of the jsonl input names 'lib/io.py\\x00', which is "
     "no file of this repository: run dispatch split from the folder the tool ran in"),
    (("--items", "../long.jsonl"), f"item 1 of the jsonl input names '{'x' * 55}...', which is "
     "no file of this repository: run dispatch split from the folder the tool ran in"),
    (("--items", "../missing.json"), "--items '../missing.json': cannot read it (No such file or "
     "directory)"),
    (("--items", "../elsewhere.txt"), "item 1 of the flake8 input names 'gone/x.py', which is "
     "no file of this repository: run dispatch split from the folder the tool ran in"),
    ((), "nothing to split: pass files (git pathspecs such as 'src/*.py') or --items FILE (a "
     "list, or a linter's output; - for stdin)"),
    (("nothing/*.py",), "no tracked file matches 'nothing/*.py': check the pattern (git "
     "pathspecs, relative to this folder)"),
    (("lib", "--by", "owner"), "--by 'owner': use one of file, dir, rule, severity"),
    (("lib", "--name", "Bad Name"), "invalid feature name 'Bad Name': use letters a-z, "
     "digits, '.', '_', '-', starting with a letter or digit"),
    (("lib", "--task-file", "../task.md"), "pass either --task or --task-file, not both"),
    (("lib", "--batch-size", "0"), "--batch-size 0: give a batch 1 to 10,000 items"),
])
def test_bad_input_is_refused_in_one_line_and_writes_nothing(
        cli: Cli, project: Path, tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    ruff(project, tmp_path / "ruff.json", "json")
    (tmp_path / "empty.txt").write_text("\n")
    (tmp_path / "none.json").write_text("[]")
    (tmp_path / "clean.txt").write_text("All checks passed!\n")
    (tmp_path / "nul.jsonl").write_text('{"file": "lib/io.py\\u0000", "line": 1}\n')
    (tmp_path / "long.jsonl").write_text(json.dumps({"file": "x" * 5000, "line": 1}) + "\n")
    (tmp_path / "elsewhere.txt").write_text("gone/x.py:1:1: F401 'os' imported but unused\n")
    (tmp_path / "task.md").write_text("Do it\n")
    named = ["--name", "bad"] if "--name" not in args else []
    before = snapshot(project)
    result = cli("split", *args, *named, "--task", "Fix", cwd=project)
    assert (result.code, result.out, result.err) == (1, "", f"dispatch: error: {message}\n")
    assert snapshot(project) == before
    assert not (project / "specs").exists()


def test_start_goes_straight_on_to_dispatch_start(cli: Cli, project: Path) -> None:
    result = cli("split", "lib", "--into", "2", "--name", "tidy", "--task", "Tidy these",
                 "--start", "--rehearse", "--wait", "--format", "plain", cwd=project)
    assert result.code == 0, result
    assert statuses(settle(project, "tidy")) == {"part-1": "done", "part-2": "done"}
    assert result.err.startswith(f"wrote specs/{the_spec(project, 'tidy').name} (files: 3 "
                                 "files, 2 workstreams)\n")


def test_a_spec_too_large_to_plan_is_refused_before_it_is_written(
        cli: Cli, project: Path, tmp_path: Path) -> None:
    listing = tmp_path / "todo.txt"
    listing.write_text("".join(f"lib/io.py:{n}: {'x' * 250}\n" for n in range(1, 9001)))
    result = cli("split", "--items", str(listing), "--name", "huge", "--task", "Do",
                 cwd=project)
    assert (result.code, result.err) == (1, "dispatch: error: the spec would be 2 MB, over "
                                            "the 2 MB a spec may be: split fewer items at a "
                                            "time (e.g. one rule or folder of the report)\n")
    assert not (project / "specs").exists()


def test_the_spec_is_an_ordinary_file(cli: Cli, project: Path) -> None:
    assert cli("split", "lib", "--name", "perm", "--task", "Do", cwd=project).code == 0
    assert the_spec(project, "perm").stat().st_mode & 0o644 == 0o644


def test_a_split_for_the_queue_is_worked_through_in_batches(cli: Cli, project: Path,
                                                          tmp_path: Path) -> None:
    report = ruff(project, tmp_path / "ruff.json", "json")
    total = sum(findings(report, project).values())
    result = cli("split", "--items", str(report), "--into", "2", "--name", "batched", "--task",
                 TASK, "--batch-size", "10", "--start", "--rehearse", "--wait", "--json",
                 cwd=project)
    assert result.code == 0, result
    settle(project, "batched")
    status = cli("status", "batched", "--json", cwd=project)
    queue = json.loads(status.out)["queue"]
    assert (queue["batch_size"], queue["items_done"], queue["items_total"]) == (10, total, total)
