"""The import graph follows ARCHITECTURE.md: each folder imports only what its row allows,
the lean `status` path imports neither typer nor pydantic, and git runs only in gitops/."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli import Result
from tests.support.paths import REPO_ROOT

PACKAGE = REPO_ROOT / "dispatch"
_ROW = re.compile(r"^\| `(\w+)/` \| .* \| (.*) \|$")


def allowed_imports() -> dict[str, set[str]]:
    """{folder: folders it may import}, read from ARCHITECTURE.md's table."""
    rules = {}
    for line in (REPO_ROOT / "ARCHITECTURE.md").read_text().splitlines():
        match = _ROW.match(line)
        if match:
            rules[match[1]] = set(re.findall(r"`(\w+)/`", match[2]))
    return rules


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, dispatch module) for every import in a file, inside functions too."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "dispatch":
                found += [(node.lineno, f"dispatch.{alias.name}") for alias in node.names]
            elif node.module.startswith("dispatch."):
                found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("dispatch.")]
    return found


def folder_of(module: str) -> str:
    return module.split(".")[1]


def violations(rules: dict[str, set[str]]) -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).parts
        if len(parts) < 2 or parts[0] == "resources":
            continue
        folder = parts[0]
        for line, module in imports_of(path):
            target = folder_of(module)
            if target not in (folder, "__version__") and target not in rules[folder]:
                found.append(f"{path.relative_to(REPO_ROOT)}:{line}: {folder}/ imports {module}")
    return found


def test_the_table_names_every_folder() -> None:
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    rules = allowed_imports()
    assert set(rules) == folders
    assert all(allowed <= folders for allowed in rules.values())


def test_every_import_is_allowed_by_the_table() -> None:
    assert violations(allowed_imports()) == []


def test_the_check_catches_an_upward_import() -> None:
    """The rule is not vacuous: forbidding a real edge makes the check report it."""
    rules = allowed_imports()
    rules["sessions"] = rules["sessions"] - {"state"}
    reported = violations(rules)
    assert reported and all("sessions/ imports dispatch.state" in line for line in reported)


def test_git_runs_only_in_gitops() -> None:
    """Other folders call gitops' named functions, never the runner with their own argv."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if "gitops" in path.parts or "resources" in path.parts:
            continue
        text = path.read_text()
        if re.search(r"\brunner\.(run|result|ok)\(|\[\s*[\"']git[\"']", text):
            offenders.append(str(path.relative_to(REPO_ROOT)))
    assert offenders == []


@pytest.mark.parametrize("argv", [["status"], ["status", "--json"], ["status", "-v"]])
def test_status_imports_neither_typer_nor_pydantic(repo: Path, cli: Callable[..., Result],
                                                     argv: list[str]) -> None:
    (repo / "spec.md").write_text("# S\n## Workstreams\n### Api\n- [ ] serve\n")
    assert cli("start", "spec.md", "--no-agents").code == 0
    probe = ("import sys; from dispatch.cli import main; code = main(sys.argv[1:]); "
             "heavy = sorted(m for m in ('typer', 'pydantic', 'git', 'jinja2') "
             "if m in sys.modules); print(code, heavy)")
    proc = subprocess.run([sys.executable, "-c", probe, *argv], cwd=repo,
                          capture_output=True, text=True, check=False)
    assert "api" in proc.stdout
    assert proc.stdout.strip().splitlines()[-1] == "0 []", proc.stdout + proc.stderr
