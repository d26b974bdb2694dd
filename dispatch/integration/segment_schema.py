"""`--schema`: a JSON Schema every segment must match (the `jsonschema` library).

The schema is read and checked before anything merges: a schema that is not JSON, or not a
valid schema for the draft it names (2020-12 when it names none), is a one-line error.
`$ref`s resolve inside the schema and to the drafts' own meta-schemas only: nothing is
fetched over the network, so a check gives the same answer on any machine, offline too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dispatch.core import files
from dispatch.core.errors import DispatchError
from dispatch.core.text import visible_line

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

_SHOWN = 160  # characters of a validation message (they quote the offending value)


@dataclass(frozen=True)
class Schema:
    path: Path
    validator: Validator


def load(path: Path) -> Schema:
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import validator_for
    from jsonschema_specifications import REGISTRY

    if not path.is_file():
        raise DispatchError(f"--schema {path} is not a file; name the JSON Schema file")
    text = files.read_text(path)
    if text is None:
        raise DispatchError(f"--schema {path} cannot be read; check its permissions")
    try:
        schema = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise DispatchError(f"--schema {path} is not valid JSON ({exc}); fix it") from None
    if not isinstance(schema, dict):
        raise DispatchError(f"--schema {path} is not a JSON Schema object; write one such as "
                            '{"type": "array"}')
    kind = validator_for(schema)
    try:
        kind.check_schema(schema)
    except SchemaError as exc:
        raise DispatchError(f"--schema {path} is not a valid JSON Schema: {_message(exc)} at "
                            f"{exc.json_path}") from None
    return Schema(path, kind(schema, registry=REGISTRY))


def problem(schema: Schema, value: Any) -> str | None:
    """Why `value` does not match the schema (the most relevant error), or None."""
    from jsonschema.exceptions import best_match
    from referencing.exceptions import Unresolvable

    try:
        error = best_match(schema.validator.iter_errors(value))
    except RecursionError:
        return "nested too deeply to be checked against the schema"
    except Unresolvable as exc:
        return (f"not checked: the schema's $ref {visible_line(str(exc))[:_SHOWN]} "
                "does not resolve (dispatch fetches no schema from the network)")
    if error is None:
        return None
    return f"schema: {error.json_path}: {_message(error)}"


def _message(error: Any) -> str:
    text = visible_line(str(error.message))
    return text if len(text) <= _SHOWN else text[:_SHOWN - 3] + "..."
