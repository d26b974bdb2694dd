"""The wheel carries the package and every resource file, and runs outside the source tree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.support.paths import EXAMPLE_SPEC, REPO_ROOT


def test_wheel_holds_every_resource_and_runs_outside_the_source_tree(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--no-build-isolation", "--wheel-dir", str(tmp_path / "dist"),
                    str(REPO_ROOT)], check=True, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path / "site")
    resources = REPO_ROOT / "dispatch" / "resources"
    shipped = {p.relative_to(REPO_ROOT).as_posix() for p in resources.rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    assert len(shipped) > 20 and shipped <= names

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

    # Templates, install-commands and demo find their files in the installed package.
    assert {"dispatch/resources/commands/project/dispatch.md",
            "dispatch/resources/sample/spec.md", "dispatch/resources/sample/project/env",
            "dispatch/resources/templates/TASKS.md.j2"} <= names
    where = subprocess.run([sys.executable, "-c", "from dispatch import resources; "
                            "print(resources.templates()); print(resources.slash_commands()); "
                            "print(resources.sample())"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
    assert len(where.stdout.splitlines()) == 3
    assert all(Path(line).is_relative_to(tmp_path / "site") and Path(line).is_dir()
               for line in where.stdout.splitlines())
