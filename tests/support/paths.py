"""Where the project and its example spec are, for tests."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_SPEC = REPO_ROOT / "specs" / "2026_11_22_09_00_00_plugin_system.md"
