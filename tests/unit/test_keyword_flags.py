"""Flags are keyword-only: no function of ours takes two or more booleans by position, where a call like
``send(a, b, True, False)`` reads as nothing and two such functions could take them in opposite orders.
Click commands are exempt: click passes every option by name."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "conformance"
BOOL = {"bool", "bool | None"}


def _is_click_command(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any("command" in ast.unparse(d) or "option" in ast.unparse(d) for d in node.decorator_list)


def test_no_function_takes_two_booleans_by_position() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) or _is_click_command(node):
                continue
            positional = node.args.posonlyargs + node.args.args
            flags = [
                a.arg for a in positional if a.annotation is not None and ast.unparse(a.annotation) in BOOL
            ]
            if len(flags) >= 2:
                offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}{tuple(flags)}")
    assert offenders == []
