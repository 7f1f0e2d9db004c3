"""The one validator of the YAML files users write: target files, fixture files and baselines.

Each file format has a JSON Schema shipped beside this module (``target.schema.json``,
``fixtures.schema.json``, ``baseline.schema.json``; editors can use them too), and every problem, found by
the schema or by a rule a schema cannot express (an id listed twice, a token reused where it must differ),
reads the same way - the key path, what was expected, what was found::

    target file 't.yaml': groups.monitoring[2]: expected a string group id, found 12.5

A schema node's ``description`` is the "expected" part, so the schema is the one place a rule is worded.
A node's description states its limits too (it is the whole "expected" part). A node marked ``writeOnly``
holds a secret: its value is never shown, only its kind.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conformance.errors import ConfigError
from conformance.schemas.quick import accepts

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

SCHEMA_DIR = Path(__file__).resolve().parent
SCHEMAS = ("target", "fixtures", "baseline")
_SHOWN_CHARS = 60  # a longer value is cut: the message is one line


def schema_path(name: str) -> Path:
    return SCHEMA_DIR / f"{name}.schema.json"


@cache
def load_schema(name: str) -> dict[str, Any]:
    if name not in SCHEMAS:
        raise ValueError(f"unknown schema {name!r}; known: {', '.join(SCHEMAS)}")
    schema: dict[str, Any] = json.loads(schema_path(name).read_text(encoding="utf-8"))
    return schema


@cache
def _validator(name: str) -> Draft202012Validator:
    # Imported here: a valid file is accepted without it (quick.py), and a run's start is the lighter.
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema(name), format_checker=Draft202012Validator.FORMAT_CHECKER)


def key_path(parts: Iterable[str | int]) -> str:
    """``groups.monitoring[2]`` from ("groups", "monitoring", 2)."""
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def shown(value: Any, *, secret: bool = False) -> str:
    """What was found, for a message: the value (cut to one short line) or, for a secret, only its kind."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping" if value else "an empty mapping"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    if secret and value != "":
        return f"a {'string' if isinstance(value, str) else type(value).__name__} (not shown: a secret)"
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else text[: _SHOWN_CHARS - 4] + "…" + text[-3:]


def problem(source: str, path: str, expected: str, found: str) -> ConfigError:
    """The one error style: ``source: path: expected ..., found ...``."""
    where = f"{source}: {path}" if path else source
    return ConfigError(f"{where}: expected {expected}, found {found}")


def validate(data: Any, name: str, source: str) -> Any:
    """``data`` as the schema ``name`` reads it, or a ConfigError for its first problem.

    Normalised first: a key with nothing after it (``token:``) counts as absent, as YAML users write it
    to comment out a value; a date object (from a caller that parsed YAML itself) becomes its ISO text.
    """
    data = _normalised(data)
    if accepts(data, load_schema(name)):  # valid: jsonschema, which words the problems, is not needed
        return data
    errors = list(_validator(name).iter_errors(data))
    if errors:
        raise _message(_pick(errors), load_schema(name), source)
    return data


def _normalised(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _normalised(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_normalised(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _pick(errors: list[ValidationError]) -> ValidationError:
    # The shallowest problem first (it says the most), ties in document order; into an anyOf only when
    # just one of its branches has the instance's type (then that branch's problem is the real one).
    best = min(errors, key=lambda e: len(e.absolute_path))
    while best.validator == "anyOf" and best.context:
        branches: dict[Any, list[ValidationError]] = {}
        for error in best.context:
            branches.setdefault(error.relative_schema_path[0], []).append(error)
        typed = [
            errs
            for errs in branches.values()
            if not any(e.validator == "type" and not e.relative_path for e in errs)
        ]
        if len(typed) != 1:
            break
        best = min(typed[0], key=lambda e: len(e.relative_path))
    return best


def _resolve(root: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _is_secret(root: dict[str, Any], error: ValidationError) -> bool:
    # Walk the schema path of the error (which steps through a $ref without naming it); a writeOnly node
    # on the way means the value is a secret.
    node: Any = root
    for part in error.absolute_schema_path:
        if isinstance(node, dict):
            if node.get("writeOnly"):
                return True
            if part == "$ref" or part not in node:
                node = _resolve(root, node)
                if node.get("writeOnly"):
                    return True
                if part == "$ref":
                    continue
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False
    return False


_TYPES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a mapping",
    "null": "null",
}


def _detail(keyword: str, value: Any) -> str:
    return {
        "minLength": f"at least {value} character{'s' if value != 1 else ''}",
        "maxLength": f"at most {value} characters",
        "minItems": f"at least {value} item{'s' if value != 1 else ''}",
        "minimum": f"at least {value}",
        "maximum": f"at most {value}",
        "exclusiveMinimum": f"more than {value}",
    }.get(keyword, "")


def _generic(error: ValidationError) -> str:
    value: Any = error.validator_value
    if error.validator == "type":
        kinds = value if isinstance(value, list) else [value]
        return " or ".join(_TYPES.get(str(k), str(k)) for k in kinds)
    if error.validator == "enum":
        return "one of: " + ", ".join(str(v) for v in value)
    if error.validator == "const":
        return repr(value)
    return _detail(str(error.validator), value) or str(error.message)


def _found(error: ValidationError, *, secret: bool) -> str:
    value = error.instance
    if error.validator in ("minLength", "maxLength") and isinstance(value, str) and value:
        return f"a string of {len(value)} characters"
    return shown(value, secret=secret)


def _described_parent(error: ValidationError) -> str | None:
    parent = error.parent
    while parent is not None and list(parent.absolute_path) == list(error.absolute_path):
        if isinstance(parent.schema, dict) and parent.schema.get("description"):
            return str(parent.schema["description"])
        parent = parent.parent
    return None


def _message(error: ValidationError, root: dict[str, Any], source: str) -> ConfigError:
    parts = list(error.absolute_path)
    node = error.schema if isinstance(error.schema, dict) else {}
    instance: Any = error.instance
    if error.validator == "required":
        value: Any = error.validator_value
        missing = next(k for k in value if k not in instance)
        child = _resolve(root, node.get("properties", {}).get(missing, {}))
        expected = child.get("description", "a value") if isinstance(child, dict) else "a value"
        return problem(source, key_path([*parts, missing]), expected, "nothing (the key is missing)")
    if error.validator == "additionalProperties" and error.validator_value is False:
        allowed = sorted(node.get("properties", {}))
        extra = sorted(str(k) for k in instance if k not in allowed)[0]
        import difflib  # a problem's message only

        close = difflib.get_close_matches(extra, allowed, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return problem(
            source,
            key_path([*parts, extra]),
            f"one of the keys {', '.join(allowed)}",
            f"an unknown key{hint}",
        )
    if "propertyNames" in list(error.absolute_schema_path)[-2:]:
        # The instance is the offending key itself, at the path of its mapping.
        return problem(
            source,
            key_path([*parts, str(error.instance)]),
            node.get("description") or _generic(error),
            "an unknown name",
        )
    # A description states the node's limits itself (the schema words each rule once); a branch of an
    # anyOf without one is described by the anyOf (a command: a string, or a list of ...).
    expected = node.get("description") or _described_parent(error) or _generic(error)
    return problem(source, key_path(parts), expected, _found(error, secret=_is_secret(root, error)))
