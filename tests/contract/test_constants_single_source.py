"""Every constant the contract owns is spelled once: in the contract, read through ``conformance/spec``.

The package's code (``conformance/**/*.py`` outside ``conformance/spec/``) is read as syntax trees, so
comments and docstrings - where prose may name a profile or a limit - never count. What counts:

- a profile name (``"strict"``, ``"huawei"``) as a string literal: use ``Profile``;
- a length limit of the contract's parameters (1024, 16384) as an int literal, except as a factor of a
  product (``64 * 1024`` is a unit, not the page's limit), or written as the page writes it ("1,024") in
  a string: use ``Contract.max_length`` / ``min_length``;
- a task-group status code (0..9) where a status is meant: compared with, or assigned to, a name that
  says status, pausable, paused, pausing, settled or completed (``pause``, a delay, does not); in a set
  literal of codes only (``{1, 2}``); a ``range`` of codes assigned to such a name; in SQL text
  (``status IN (1, 2)``, but not ``status=429``): use ``conformance.spec.statuses``;
- an error code the contract fixes (``x-error-code``: the gateway's ``"APIGW.0301"``) as a string
  literal: use ``Contract.error_code``;
- an operation path or its tail as a string literal (``/v2/...``, ``.../taskgroups/...``, ``"/stop"``,
  ``"/start"``), or a literal segment of it as bytes (``b"taskgroups"``, as routers compare them): use
  ``STOP_PATH`` / ``SHOW_PATH`` / ``START_PATH``, the suffixes and the segments.

The JSON schemas a user's files are checked against restate the profile and status names for their own
readers; the last tests pin them to the contract instead.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from conformance.spec import PROFILES, load_contract
from conformance.spec.documents import (
    COLLECTION_SEGMENT,
    SHOW_PATH,
    START_SEGMENT,
    START_SUFFIX,
    STOP_SEGMENT,
    STOP_SUFFIX,
    VERSION_SEGMENT,
)
from conformance.spec.statuses import ALL_CODES, STATUS_CODES

PACKAGE = Path(__file__).resolve().parents[2] / "conformance"
ALLOWED = PACKAGE / "spec"  # where the contract is read: the one place that may spell what it owns

_STRICT = load_contract("strict")
LIMITS = frozenset(_STRICT.max_length(p) for p in ("project_id", "group_id", "X-Auth-Token"))
LIMIT_TEXTS = tuple(f"{limit:,}" for limit in LIMITS)
STATUS_WORDS = re.compile(r"status|pausable|paused|pausing|settled|completed", re.IGNORECASE)
SQL_STATUS = re.compile(
    r"\b(?:status|resumes_to)\s*(?:=|\bIN\b|\bBETWEEN\b)\s*\(?\s*\d(?!\d)|coalesce\(resumes_to,\s*\d(?!\d)"
)
PATH_PARTS = (SHOW_PATH.split("{")[0], f"/{COLLECTION_SEGMENT}")  # "/v2/", "/taskgroups"
PATH_TAILS = frozenset({STOP_SUFFIX, START_SUFFIX})
PATH_SEGMENTS = frozenset(
    s.encode() for s in (VERSION_SEGMENT, COLLECTION_SEGMENT, STOP_SEGMENT, START_SEGMENT)
)
ERROR_CODES = frozenset(code for p in PROFILES if (code := load_contract(p).error_code(401)) is not None)


def _docstrings(tree: ast.AST) -> set[int]:
    """Ids of the string constants that stand alone as statements: docstrings, attribute docstrings."""
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    }


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _is_code(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int and node.value in ALL_CODES


def _codes_in(node: ast.AST) -> bool:
    """A code literal, or a literal collection / ``frozenset({...})`` / ``range(...)`` that holds one."""
    if _is_code(node):
        return True
    if isinstance(node, ast.Set | ast.Tuple | ast.List):
        return any(_codes_in(e) for e in node.elts)
    if isinstance(node, ast.Call) and _name(node.func) in ("frozenset", "set", "tuple"):
        return any(_codes_in(a) for a in node.args)
    return isinstance(node, ast.Call) and _name(node.func) == "range"


def _factors(tree: ast.AST) -> set[int]:
    """Ids of the operands of products and shifts: ``64 * 1024`` is a unit of bytes, not a limit."""
    return {
        id(side)
        for node in ast.walk(tree)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult | ast.LShift)
        for side in (node.left, node.right)
    }


def _findings(tree: ast.AST) -> Iterator[tuple[int, str]]:
    docs, factors = _docstrings(tree), _factors(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and id(node) not in docs:
            value = node.value
            if isinstance(value, str):
                if value in PROFILES:
                    yield node.lineno, f"the profile name {value!r}: use Profile"
                if any(text in value for text in LIMIT_TEXTS):
                    yield node.lineno, f"a length limit in {value!r}: read it with Contract.max_length"
                if value in ERROR_CODES:
                    yield node.lineno, f"the error code {value!r}: read it with Contract.error_code"
                if SQL_STATUS.search(value):
                    yield node.lineno, f"a status code in {value!r}: use conformance.spec.statuses"
                if value in PATH_TAILS or any(part in value for part in PATH_PARTS):
                    yield node.lineno, f"an operation path in {value!r}: use the paths of spec/documents.py"
            elif isinstance(value, bytes) and value in PATH_SEGMENTS:
                yield node.lineno, f"the path segment {value!r}: use the segments of spec/documents.py"
            elif type(value) is int and value in LIMITS and id(node) not in factors:
                yield node.lineno, f"the length limit {value}: read it with Contract.max_length"
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(STATUS_WORDS.search(_name(s)) for s in sides) and any(_codes_in(s) for s in sides):
                yield node.lineno, "a status code in a comparison: use conformance.spec.statuses"
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = [_name(e) for t in targets for e in (t.elts if isinstance(t, ast.Tuple) else [t])]
            if (
                node.value is not None
                and any(STATUS_WORDS.search(n) for n in names)
                and _codes_in(node.value)
            ):
                yield (
                    node.lineno,
                    f"status codes assigned to {', '.join(names)}: use conformance.spec.statuses",
                )
        elif isinstance(node, ast.Set) and node.elts and all(_is_code(e) for e in node.elts):
            yield node.lineno, "a set of status codes: use conformance.spec.statuses"


def _offenders() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.is_relative_to(ALLOWED):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found += [f"{path.relative_to(PACKAGE)}:{line}: {what}" for line, what in _findings(tree)]
    return found


def test_no_module_outside_spec_restates_what_the_contract_owns() -> None:
    assert _offenders() == []


def test_the_rule_sees_each_kind_of_restatement() -> None:
    source = '''
"""A docstring may say strict, huawei, 1024, status = 3 and /v2/x/taskgroups/y/stop."""
profile = "huawei"
MAX_IDS = 1024
BUFFER = 64 * 1024
message = "must be 1 to 16,384 characters"
PAUSING, PAUSED = 7, 3
ANY_STATUS = frozenset(range(10))
if status in (1, 2): pass
if result.status == 200: pass
if pause <= 0: pass
FAULT = "status=429@0.2"
expect({1, 2})
SQL = "UPDATE task_groups SET status = 3"
path = "/v2/p/taskgroups/g/stop"
tail = "/start"
CODE = "APIGW.0301"
if segment == b"taskgroups": pass
'''
    found = [line for line, _ in _findings(ast.parse(source))]
    assert sorted(set(found)) == [3, 4, 6, 7, 8, 9, 13, 14, 15, 16, 17, 18]


def test_the_user_file_schemas_name_the_contracts_profiles_and_statuses() -> None:
    schemas = PACKAGE / "schemas" / "target.schema.json", PACKAGE / "reports" / "conformance.schema.json"
    target, report = (json.loads(p.read_text(encoding="utf-8")) for p in schemas)
    assert tuple(target["properties"]["profile"]["enum"]) == PROFILES
    assert tuple(report["properties"]["profile"]["examples"]) == PROFILES
    status_names = [node["enum"] for node in _walk(target) if "a status name" in node.get("description", "")]
    assert status_names and all(names == list(STATUS_CODES) for names in status_names)


def _walk(node: object) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)
