"""The registry's invariants: filled explicitly, no import cycle in the checks package, and no check can
record a requirement it does not declare (a finding under an undeclared ID would vanish from the verdicts)."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path

import httpx
import pytest

from conformance.checks.machinery.base import Finding, Kind, Sent
from conformance.checks.machinery.recorder import Recorder, UndeclaredRequirement
from conformance.checks.machinery.registry import Registry, response_check, scenario
from conformance.checks.suite import BUILTIN
from conformance.options import RunOptions
from conformance.runner.engine import execute
from conformance.spec import load_requirements
from conformance.target import parse_target
from conformance.transport.http import HttpResult
from tests.suite.model import Model, target_data, variant

CHECKS_DIR = Path(__file__).resolve().parents[2] / "conformance" / "checks"


def _internal_imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("conformance.checks"):
            package = node.module.removeprefix("conformance.checks").removeprefix(".")
            where = CHECKS_DIR.joinpath(*package.split(".")) if package else CHECKS_DIR
            for alias in node.names:  # `from conformance.checks.machinery import negative`: a module
                if (where / f"{alias.name}.py").exists():
                    found.add(f"{package}.{alias.name}" if package else alias.name)
                elif package:
                    found.add(package)
    return found


def _dotted(path: Path) -> str:
    """``machinery/pool.py`` -> ``machinery.pool``: a module's name below conformance.checks."""
    return ".".join(path.relative_to(CHECKS_DIR).with_suffix("").parts)


def test_the_checks_package_has_no_import_cycle() -> None:
    graph = {_dotted(p): _internal_imports(p) for p in CHECKS_DIR.rglob("*.py") if p.stem != "__init__"}
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import cycle: {' -> '.join((*path, module))}"
        if module in done:
            return
        for imported in graph.get(module, ()):
            visit(imported, (*path, module))
        done.add(module)

    for module in graph:
        visit(module, ())


def test_no_check_module_registers_itself_on_import() -> None:
    # The registry is a value built from an explicit list; the decorators only describe.
    assert not any(
        "Registry(" in p.read_text(encoding="utf-8") for p in CHECKS_DIR.rglob("*.py") if p.stem != "suite"
    )
    assert len(BUILTIN.names()) == len(set(BUILTIN.names()))


def test_a_recorder_refuses_an_undeclared_requirement() -> None:
    recorder = Recorder("demo", ("STOP-AUTHN",))
    recorder.fail(Finding("t", "r", "e", requirement="STOP-AUTHN"))
    with pytest.raises(UndeclaredRequirement, match="STOP-AUTHZ"):
        recorder.fail(Finding("t", "r", "e", requirement="STOP-AUTHZ"))
    with pytest.raises(UndeclaredRequirement):
        recorder.undecided("STOP-ROBUST", "why")


def test_a_finding_takes_its_requirement_from_the_declaration_unless_it_names_one() -> None:
    one = Recorder("demo", ("STOP-AUTHN",))
    one.fail(Finding("t", "r", "e"))
    assert [f.requirement for f in one.findings] == ["STOP-AUTHN"]
    several = Recorder("demo", ("STOP-AUTHN", "STOP-AUTHZ"))
    several.fail(Finding("t", "r", "e", requirement="STOP-AUTHZ"))
    assert [f.requirement for f in several.findings] == ["STOP-AUTHZ"]
    with pytest.raises(UndeclaredRequirement, match="must name which one"):
        several.fail(Finding("t", "r", "e"))


def test_every_check_declares_only_catalogue_requirements_of_its_profiles() -> None:
    catalogue = load_requirements()
    for spec in BUILTIN:
        for requirement in spec.requirements:
            assert requirement in catalogue, (spec.name, requirement)
            # Scenarios too: a check run in a profile that lacks a requirement would decide it there.
            assert set(spec.profiles) <= set(catalogue[requirement].profiles), (spec.name, requirement)


def test_the_runner_refuses_an_oracle_that_finds_an_undeclared_requirement() -> None:
    @response_check("sneaky", requirements=["STOP-NO-ECHO"])
    def sneaky(ctx: object, sent: Sent) -> Finding | None:
        return Finding("not mine", "r", "e", requirement="STOP-AUTHZ")

    @scenario("one-request", requirements=["STOP-OPERATION"])
    async def one_request(ctx: object) -> None:
        await ctx.stop("omsconf-unknown-x")  # type: ignore[attr-defined]

    registry = Registry([sneaky, one_request])
    target = parse_target(target_data("http://model.test"))
    options = RunOptions(seed=1, transport=httpx.ASGITransport(app=Model(variant())), reruns=0)
    with pytest.raises(UndeclaredRequirement, match="sneaky"):
        asyncio.run(execute(target, options, checks=list(registry)))


@pytest.mark.parametrize("switches", [{"unknown_group_200": True}, {"ignore_token_on_pausable": True}])
def test_every_registered_check_records_only_what_it_declares(switches: dict[str, bool]) -> None:
    """Against faulty servers every check records findings; a check that recorded an undeclared requirement
    would raise UndeclaredRequirement out of the run (the fuzz check used to record STOP-AUTHN)."""
    target = parse_target(target_data("http://model.test"))
    options = RunOptions(seed=3, transport=httpx.ASGITransport(app=Model(variant(**switches))), reruns=0)
    result = asyncio.run(execute(target, options))
    assert any(c.failures for c in result.checks)
    for check in result.checks:
        assert {f.requirement for f in check.failures} <= set(check.requirements)


def test_sent_kinds_are_what_the_oracles_branch_on() -> None:
    result = HttpResult(200, [], b"", False, 0.0, None, evidence=None)  # type: ignore[arg-type]
    assert Sent("PUT", "/", Kind.STOP, None, result, "c").kind == "stop"
