"""The one Jinja environment: built-in templates, overridable per repository.

A file of the same name in `<repo>/.dispatch/templates/` replaces the built-in one. Spec text
is only ever passed in as data (`{{ ws.raw }}`), never compiled as a template, so `{{ }}` in
a spec appears literally.
"""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dispatch.core.errors import DispatchError
from dispatch.core.text import visible

if TYPE_CHECKING:
    from jinja2 import Environment

OVERRIDES = Path(".dispatch") / "templates"
_building = threading.Lock()


def environment(repo_root: Path | None) -> Environment:
    with _building:  # the prefetch thread and the caller build it once between them
        return _environment(repo_root)


@cache
def _environment(repo_root: Path | None) -> Environment:
    from jinja2 import Environment, FileSystemBytecodeCache, FileSystemLoader, StrictUndefined

    from dispatch import resources

    search = [resources.templates()]
    if repo_root is not None:
        search.insert(0, repo_root / OVERRIDES)
    # Compiled templates are cached (in a private folder under the temp dir, keyed by the
    # template's source): compiling the report template costs more than rendering it.
    # `finalize` makes control characters in any value visible: spec text, a worker's
    # RESULTS.md and file names reach INTEGRATION.md and TASKS.md, and people `cat` them.
    env = Environment(loader=FileSystemLoader([str(p) for p in search]),
                      undefined=StrictUndefined, keep_trailing_newline=True, autoescape=False,
                      bytecode_cache=FileSystemBytecodeCache(), finalize=_visible)
    env.filters["quote"] = quote
    return env


def quote(text: str) -> str:
    """Markdown block quote: quoted checkboxes are not tasks, quoted headings not sections."""
    return "\n".join(f"> {line}".rstrip() for line in text.rstrip("\n").split("\n"))


def render(name: str, repo_root: Path | None, **context: Any) -> str:
    from jinja2 import TemplateError

    try:
        return environment(repo_root).get_template(name).render(**context)
    except (TemplateError, OSError, ValueError) as exc:
        raise _override_error(name, repo_root, exc) from exc


def prefetch(name: str, repo_root: Path | None) -> None:
    """Import Jinja and compile template `name` in a background thread: a command that
    mostly waits on git meanwhile has the report ready to render when its work ends (Jinja
    costs about a tenth of a command's start-up). A repository's own version of the template
    is read at once instead: one that cannot be read stops the command before it does
    anything, with the file and line."""
    if _override(name, repo_root) is not None:
        _load_override(name, repo_root)
        return

    def load() -> None:
        try:
            environment(repo_root).get_template(name)
        except Exception:  # render raises it again, with its message
            pass

    threading.Thread(target=load, name="template-prefetch", daemon=True).start()


def check_overrides(repo_root: Path) -> None:
    """Compile each of the repository's own versions of dispatch's templates (and what they
    include): one that cannot be read stops the command before it makes anything (a worktree
    without its TASKS.md, say). Other files in that folder are not dispatch's to judge."""
    from dispatch import resources

    for builtin in sorted(resources.templates().glob("*.j2")):
        if _override(builtin.name, repo_root) is not None:
            _load_override(builtin.name, repo_root)


def _load_override(name: str, repo_root: Path | None) -> None:
    """Compile template `name` and every template it includes, imports or extends."""
    from jinja2 import TemplateError, meta

    env = environment(repo_root)
    pending, seen = [name], set()
    named_by: dict[str, str] = {}  # a template -> the one that includes it
    current = name
    try:
        while pending:
            current = pending.pop()
            if current not in seen:
                seen.add(current)
                env.get_template(current)
                source = env.loader.get_source(env, current)[0]  # type: ignore[union-attr]
                for found in meta.find_referenced_templates(env.parse(source)):
                    if isinstance(found, str):
                        named_by.setdefault(found, current)
                        pending.append(found)
    except (TemplateError, OSError, ValueError) as exc:
        # One it names that is missing, or a built-in it includes: the naming one's fault.
        while _override(current, repo_root) is None and current in named_by:
            current = named_by[current]
        raise _override_error(current, repo_root, exc) from exc


def _override(name: str, repo_root: Path | None) -> Path | None:
    found = repo_root / OVERRIDES / name if repo_root is not None else None
    return found if found is not None and found.is_file() else None


def _override_error(name: str, repo_root: Path | None, exc: Exception) -> Exception:
    """A repository's own template that fails is the user's to fix (one line: which file,
    which line, what); a built-in one that fails is a bug in dispatch, raised as it is."""
    failing = getattr(exc, "name", None)  # a syntax error names the file it is in
    if not isinstance(failing, str) or _override(failing, repo_root) is None:
        failing = name
    if _override(failing, repo_root) is None:
        return exc
    line = getattr(exc, "lineno", None)
    where = f"{OVERRIDES / failing}" + (f" line {line}" if line else "")
    if isinstance(exc, UnicodeDecodeError):
        reason = "it is not UTF-8 text"
    elif isinstance(exc, OSError):
        reason = exc.strerror or str(exc)
    else:
        reason = str(exc).rstrip(".")
    return DispatchError(f"the repository's template {where} fails: {reason}; fix it, or "
                         "remove it to use the built-in one")


def _visible(value: Any) -> Any:
    return visible(value) if isinstance(value, str) else value
