"""The wheel carries the package and its built-in templates and runs outside the source tree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import EXAMPLE_SPEC, REPO_ROOT


def test_wheel_holds_templates_and_runs_outside_the_source_tree(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--wheel-dir", str(tmp_path / "dist"),
                    str(REPO_ROOT)], check=True, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    shipped = {p.relative_to(REPO_ROOT / "templates").as_posix()
               for p in (REPO_ROOT / "templates").rglob("*") if p.is_file()}
    assert shipped and {f"dispatch/templates/{name}" for name in shipped} <= names

    spec = tmp_path / "spec.md"
    spec.write_text(EXAMPLE_SPEC.read_text())
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    code = ("import dispatch, sys; print(dispatch.__file__); "
            "from dispatch.cli import main; sys.exit(main(sys.argv[1:]))")
    proc = subprocess.run([sys.executable, "-c", code, "plan", str(spec), "--json"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    first, rest = proc.stdout.split("\n", 1)
    assert Path(first).is_relative_to(tmp_path / "site")
    assert json.loads(rest)["feature"] == "spec"

    # install-commands and demo find their files in the installed package too.
    assert {"dispatch/claude_commands/project/dispatch.md", "dispatch/sample/spec.md",
            "dispatch/sample/project/env"} <= names
    where = subprocess.run([sys.executable, "-c", "from dispatch import commands_install, "
                            "demo; print(commands_install.source()); print(demo.SAMPLE)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert all(Path(line).is_relative_to(tmp_path / "site")
               for line in where.stdout.splitlines())
