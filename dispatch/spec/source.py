"""Reading a spec file: where it is, whether it is sane text, and its YAML frontmatter."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dispatch.core.errors import DispatchError, SpecError
from dispatch.spec.frontmatter import Frontmatter

# Real specs are a few pages; anything this large is the wrong file (or an attack).
MAX_SPEC_BYTES = 2 * 1024 * 1024
_FENCE = re.compile(r"^(?:---|\.\.\.)[ \t]*$")


@dataclass(frozen=True)
class SpecSource:
    path: Path
    frontmatter: Frontmatter
    body: str
    body_offset: int  # lines before the body (frontmatter), to report file line numbers
    frontmatter_lines: tuple[str, ...] = ()

    def line_of(self, *keys: str) -> int:
        """The file line of a (nested) frontmatter key, for error messages."""
        return line_of_key(list(self.frontmatter_lines), list(keys))


def resolve_spec_path(arg: str, cwd: Path, repo_root: Path | None = None) -> Path:
    """`@specs/x.md`, `specs/x.md` or an absolute path -> an existing file."""
    raw = arg[1:] if arg.startswith("@") else arg
    if not raw.strip():
        raise DispatchError("no spec given: pass a markdown file such as specs/feature.md")
    given = Path(raw).expanduser()
    candidates = [given] if given.is_absolute() else [cwd / given]
    if repo_root is not None and not given.is_absolute():
        # Claude Code's `@path` is relative to the project root, wherever the shell is.
        candidates.append(repo_root / given)
    shown = raw if len(raw) <= 80 else raw[:77] + "..."
    try:
        for candidate in candidates:
            if candidate.is_file():
                return candidate.resolve()
        exists = candidates[0].exists()
    except OSError as exc:  # a name or path longer than the file system allows
        raise DispatchError(f"{shown!r}: cannot be a spec file ({exc.strerror}); check the "
                            "path") from None
    if exists:
        raise DispatchError(f"{shown}: is not a file; pass the spec's markdown file")
    raise DispatchError(f"{shown}: no such spec file; check the path (specs usually live in "
                        "specs/)")


def display_path(path: Path) -> str:
    """How a spec is named in messages: relative to the working directory when inside it."""
    relative = os.path.relpath(path)
    return path.as_posix() if relative.startswith("..") else relative


def read_spec(path: Path, shown: str) -> SpecSource:
    """Read and check the spec at `path`; errors name it as `shown`."""
    text = _read_text(path, shown)
    frontmatter, body, offset = _split_frontmatter(shown, text)
    lines = tuple(text.split("\n")[1 : offset - 1]) if offset else ()
    return SpecSource(path=path, frontmatter=frontmatter, body=body, body_offset=offset,
                      frontmatter_lines=lines)


def _read_text(path: Path, shown: str) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_SPEC_BYTES:
            raise SpecError(shown, None, f"spec is {size:,} bytes; the limit is "
                            f"{MAX_SPEC_BYTES // 1024 // 1024} MB — is this the right file?")
        data = path.read_bytes()
    except OSError as exc:
        raise DispatchError(f"{shown}: cannot read the spec: {exc.strerror}") from exc
    if b"\x00" in data:
        line = data[: data.index(b"\x00")].count(b"\n") + 1
        raise SpecError(shown, line, "spec is binary (holds NUL bytes), not markdown text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise SpecError(shown, line, "spec is not UTF-8 text; save it as UTF-8") from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _split_frontmatter(path: str, text: str) -> tuple[Frontmatter, str, int]:
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return Frontmatter(), text, 0
    end = next((i for i in range(1, len(lines)) if _FENCE.match(lines[i])), None)
    if end is None:
        raise SpecError(path, 1, "frontmatter starts with '---' but never ends; "
                        "close it with a line '---'")
    block = "\n".join(lines[1:end])
    data = _load_yaml(path, block)
    return _validate_frontmatter(path, data, lines[1:end]), "\n".join(lines[end + 1 :]), end + 1


def _load_yaml(path: str, block: str) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(block) if block.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 2 if mark is not None else 1
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise SpecError(path, line, f"frontmatter is not valid YAML ({problem})") from exc
    if not isinstance(data, dict):
        raise SpecError(path, 2, "frontmatter must be a mapping of `key: value` lines")
    return data


def _validate_frontmatter(path: str, data: dict[str, Any], lines: list[str]) -> Frontmatter:
    from pydantic import ValidationError

    try:
        return Frontmatter.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(part) for part in first["loc"]]
        text = first["msg"]
        message = "unknown key" if first["type"] == "extra_forbidden" else \
            text[:1].lower() + text[1:]
        line = line_of_key(lines, loc)
        raise SpecError(path, line, f"frontmatter {'.'.join(loc)}: {message}") from exc


def line_of_key(lines: list[str], loc: list[str]) -> int:
    """Best-effort line number, in the file, of a nested YAML key (the '---' is line 1)."""
    found, start = 2, 0
    for key in loc:
        pattern = re.compile(rf"^\s*['\"]?{re.escape(key)}['\"]?\s*:")
        for index in range(start, len(lines)):
            if pattern.match(lines[index]):
                found, start = index + 2, index + 1
                break
    return found
