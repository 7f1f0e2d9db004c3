"""No pass without a decision: a check that decided nothing is inconclusive, with its reason, never a pass
(runner/engine.py, and each check that could otherwise finish having decided nothing).
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from conformance.checks import stateful
from conformance.checks.machinery.context import CheckContext
from conformance.checks.machinery.registry import scenario, spec_of
from conformance.options import RunOptions
from conformance.results import CheckResult, RunResult, Verdict
from conformance.runner.engine import execute
from conformance.target import parse_target

from .model import Model, target_data, variant
from .test_catalogue import run_suite


def run_checks(data: dict[str, Any], checks: list[str], model: Model) -> RunResult:
    options = RunOptions(
        seed=7,
        transport=httpx.ASGITransport(app=model),
        request_timeout=2.0,
        reruns=0,
        settle_timeout=0.2,
        effect_hold=0.0,
        checks=checks,
    )
    return asyncio.run(execute(parse_target(data), options))


def check(result: RunResult, name: str) -> CheckResult:
    return next(c for c in result.checks if c.check == name)


def test_a_check_that_sends_nothing_and_finds_nothing_is_inconclusive_not_passed() -> None:
    @scenario("silent", requirements=["STOP-EFFECT"])
    async def silent(ctx: CheckContext) -> None:
        ctx.note("silent: nothing to do here")

    target = parse_target(target_data("http://model.test"))
    options = RunOptions(seed=7, transport=httpx.ASGITransport(app=Model()), reruns=0)
    result = asyncio.run(execute(target, options, checks=[spec_of(silent)]))
    (ran,) = result.checks
    assert ran.verdict is Verdict.INCONCLUSIVE
    assert "sent no request" in ran.inconclusive["STOP-EFFECT"]
    assert "nothing to do here" in ran.inconclusive["STOP-EFFECT"]


def test_header_case_on_an_aksk_only_target_is_inconclusive_with_its_reason() -> None:
    result = run_suite(variant(huawei=True), huawei=True, aksk_only=True)
    header_case = check(result, "header-case")
    assert header_case.verdict is Verdict.INCONCLUSIVE
    assert "AK/SK only" in header_case.inconclusive["STOP-HEADER-CASE"]


def test_lookalike_tokens_on_an_aksk_only_target_is_inconclusive_with_its_reason() -> None:
    result = run_suite(variant(huawei=True), huawei=True, aksk_only=True)
    tokens = check(result, "lookalike-tokens")
    assert tokens.verdict is Verdict.INCONCLUSIVE and tokens.requests == 0
    assert "AK/SK only" in tokens.inconclusive["STOP-AUTHN"]


@pytest.mark.parametrize("case_sensitive", [False, True], ids=["honours", "ignores-lower-case"])
def test_header_case_without_a_pausable_group_decides_nothing_whatever_the_server(
    case_sensitive: bool,
) -> None:
    """Its fallback compares only answers for an unknown group, which a server that ignores
    `x-auth-token` may give alike (403 hides unknown groups and answers a missing token): inconclusive
    for both, never a pass."""
    from .raw_server import serve

    data = target_data("")
    data["groups"] = {"paused": data["groups"]["paused"]}
    app = Model(
        variant(case_sensitive_headers=case_sensitive, unknown_group_status=403, malformed_token_status=403)
    )
    with serve(app) as base_url:
        data["base_url"] = base_url
        target = parse_target(data)
        options = RunOptions(seed=7, reruns=0, request_timeout=2.0, checks=["header-case"])
        result = asyncio.run(execute(target, options))
    header_case = check(result, "header-case")
    assert header_case.verdict is Verdict.INCONCLUSIVE, header_case.failures
    assert "unknown group" in header_case.inconclusive["STOP-HEADER-CASE"]


def test_precondition_on_a_target_listing_only_monitoring_groups_is_inconclusive() -> None:
    data = target_data("http://model.test")
    data["groups"] = {"monitoring": data["groups"]["monitoring"][:2]}
    result = run_checks(data, ["effect", "precondition"], Model())
    precondition = check(result, "precondition")
    assert precondition.verdict is Verdict.INCONCLUSIVE and precondition.requests == 0
    assert set(precondition.inconclusive) == {"STOP-PRECONDITION", "STOP-SUCCESS-200"}
    assert check(result, "effect").verdict is Verdict.PASS


def huawei_stateful(model: Model) -> CheckResult:
    result = run_checks(target_data("http://model.test", huawei=True), ["stateful"], model)
    return check(result, "stateful")


def test_stateful_whose_exploration_fails_with_an_error_is_inconclusive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*_: Any, **__: Any) -> Any:
        def test() -> None:
            raise RuntimeError("the machine could not be built")

        return test

    import hypothesis.stateful  # the check imports it when it explores (a light start)

    monkeypatch.setattr(hypothesis.stateful, "get_state_machine_test", broken)
    ran = huawei_stateful(Model(variant(huawei=True)))
    assert ran.verdict is Verdict.INCONCLUSIVE
    assert "RuntimeError: the machine could not be built" in ran.inconclusive["STOP-EFFECT"]


def test_stateful_out_of_time_before_its_fixed_program_ends_is_inconclusive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(stateful, "time_budget", lambda ctx: 0.0)
    ran = huawei_stateful(Model(variant(huawei=True)))
    assert ran.verdict is Verdict.INCONCLUSIVE
    assert "steps not sent" in ran.inconclusive["HW-START"]


def test_stateful_that_ran_its_programs_still_decides() -> None:
    ran = huawei_stateful(Model(variant(huawei=True)))
    assert ran.verdict is Verdict.PASS and not ran.inconclusive
