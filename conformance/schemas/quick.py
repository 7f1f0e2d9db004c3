"""A quick yes for a valid file, without jsonschema: a run's start no longer pays ~45 ms of CPU importing it.

``accepts`` answers whether a document satisfies one of the shipped schemas, for the keywords those schemas
use and with jsonschema's meaning of each (Draft 2020-12: an integer may be written ``2.0``, ``true`` is
neither a number nor equal to ``1``, ``pattern`` searches, lengths count code points). It only ever
short-cuts the happy path: a document it does not accept, or a schema with a keyword it does not know, goes
to jsonschema, which finds the problem and words the message (``conformance.schemas.validate``) exactly as
before. tests/unit/test_quick_schema.py holds it to jsonschema's verdict on valid files and on mutations of
them, for every shipped schema.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# Keywords that annotate and never reject.
_ANNOTATIONS = frozenset(
    {"$schema", "$id", "$defs", "$comment", "title", "description", "writeOnly", "default"}
)


class _Unknown(Exception):
    """The schema uses a keyword (or a form of one) this module does not judge: ask jsonschema."""


def accepts(document: Any, schema: dict[str, Any]) -> bool:
    """True only if ``document`` is valid against ``schema``; False if it is not or this cannot tell."""
    try:
        return _valid(document, schema, schema)
    except _Unknown:
        return False


def _valid(value: Any, node: Any, root: dict[str, Any]) -> bool:
    if isinstance(node, bool):
        return node
    for keyword, argument in node.items():
        if keyword in _ANNOTATIONS:
            continue
        check = _KEYWORDS.get(keyword)
        if check is None:
            raise _Unknown(keyword)
        if not check(value, argument, node, root):
            return False
    return True


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "number": _is_number,
    "integer": lambda v: _is_number(v) and (isinstance(v, int) or v.is_integer()),
}


def _type(value: Any, argument: Any, _node: Any, _root: Any) -> bool:
    names = argument if isinstance(argument, list) else [argument]
    if any(name not in _TYPES for name in names):
        raise _Unknown(f"type {argument!r}")
    return any(_TYPES[name](value) for name in names)


def _equal(value: Any, other: Any) -> bool:
    # jsonschema's equality: true is not 1, false is not 0. Only scalars here.
    if isinstance(value, dict | list) or isinstance(other, dict | list):
        raise _Unknown("enum or const of a container")
    if isinstance(value, bool) or isinstance(other, bool):
        return type(value) is type(other) and value == other
    return bool(value == other)


def _ref(value: Any, argument: Any, _node: Any, root: dict[str, Any]) -> bool:
    if not isinstance(argument, str) or not argument.startswith("#/"):
        raise _Unknown(f"$ref {argument!r}")
    target: Any = root
    for part in argument.removeprefix("#/").split("/"):
        target = target[part]
    return _valid(value, target, root)


def _additional(value: Any, argument: Any, node: dict[str, Any], root: dict[str, Any]) -> bool:
    if "patternProperties" in node:
        raise _Unknown("patternProperties")
    if not isinstance(value, dict):
        return True
    named = node.get("properties", {})
    return all(_valid(item, argument, root) for key, item in value.items() if key not in named)


def _numeric(test: Callable[[Any, Any], bool]) -> Callable[[Any, Any, Any, Any], bool]:
    return lambda value, argument, _node, _root: not _is_number(value) or test(value, argument)


_KEYWORDS: dict[str, Callable[[Any, Any, Any, Any], bool]] = {
    "type": _type,
    "enum": lambda value, argument, _n, _r: any(_equal(value, option) for option in argument),
    "const": lambda value, argument, _n, _r: _equal(value, argument),
    "$ref": _ref,
    "anyOf": lambda value, argument, _n, root: any(_valid(value, branch, root) for branch in argument),
    "required": lambda value, argument, _n, _r: (
        not isinstance(value, dict) or all(k in value for k in argument)
    ),
    "properties": lambda value, argument, _n, root: (
        not isinstance(value, dict)
        or all(_valid(value[key], sub, root) for key, sub in argument.items() if key in value)
    ),
    "additionalProperties": _additional,
    "propertyNames": lambda value, argument, _n, root: (
        not isinstance(value, dict) or all(_valid(key, argument, root) for key in value)
    ),
    "items": lambda value, argument, _n, root: (
        not isinstance(value, list) or all(_valid(item, argument, root) for item in value)
    ),
    "minItems": lambda value, argument, _n, _r: not isinstance(value, list) or len(value) >= argument,
    "maxItems": lambda value, argument, _n, _r: not isinstance(value, list) or len(value) <= argument,
    "minLength": lambda value, argument, _n, _r: not isinstance(value, str) or len(value) >= argument,
    "maxLength": lambda value, argument, _n, _r: not isinstance(value, str) or len(value) <= argument,
    "pattern": lambda value, argument, _n, _r: (
        not isinstance(value, str) or re.search(argument, value) is not None
    ),
    "minimum": _numeric(lambda value, limit: value >= limit),
    "maximum": _numeric(lambda value, limit: value <= limit),
    "exclusiveMinimum": _numeric(lambda value, limit: value > limit),
    "exclusiveMaximum": _numeric(lambda value, limit: value < limit),
}
