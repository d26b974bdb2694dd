"""The one Jinja environment: built-in templates, overridable per repository.

A file of the same name in `<repo>/.dispatch/templates/` replaces the built-in one. Spec text
is only ever passed in as data (`{{ ws.raw }}`), never compiled as a template, so `{{ }}` in
a spec appears literally.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dispatch.core.text import visible

if TYPE_CHECKING:
    from jinja2 import Environment

OVERRIDES = Path(".dispatch") / "templates"


@cache
def environment(repo_root: Path | None) -> Environment:
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
    return environment(repo_root).get_template(name).render(**context)


def _visible(value: Any) -> Any:
    return visible(value) if isinstance(value, str) else value
