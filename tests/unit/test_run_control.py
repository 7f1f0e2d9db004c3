"""The run's control object: the engine runs the checks it is given, and a stop through the control ends the
run as interrupted, with the stopper's reason, keeping what was found (the session's signal handler is one
such stopper: tests/hostile/test_lifecycle.py)."""

from __future__ import annotations

import asyncio

import httpx

from conformance.checks.machinery.registry import scenario, spec_of
from conformance.options import RunOptions
from conformance.results import RunResult, StopReason, Verdict
from conformance.runner.control import RunControl
from conformance.runner.engine import execute
from conformance.target import parse_target
from tests.suite.model import Model, target_data, variant


def _options() -> RunOptions:
    return RunOptions(seed=1, transport=httpx.ASGITransport(app=Model(variant())), reruns=0)


def test_a_stop_ends_the_run_as_interrupted_with_its_reason() -> None:
    control = RunControl()

    @scenario("stopped-midway", requirements=["STOP-OPERATION"])
    async def stopped_midway(ctx: object) -> None:
        await ctx.stop("omsconf-unknown-x")  # type: ignore[attr-defined]
        control.stop("interrupted by the test")
        await asyncio.sleep(30)  # cancelled at once: the run must not wait for it

    @scenario("never-reached", requirements=["STOP-OPERATION"])
    async def never_reached(ctx: object) -> None:
        raise AssertionError("a stopped run starts no further check")

    async def run() -> RunResult:
        checks = [spec_of(fn) for fn in (stopped_midway, never_reached)]
        task = asyncio.ensure_future(
            execute(
                parse_target(target_data("http://model.test")), _options(), checks=checks, control=control
            )
        )
        control.attach(task)
        return await asyncio.wait_for(task, 20)

    result = asyncio.run(run())
    assert control.stopped
    assert result.stop_reason is StopReason.INTERRUPTED
    assert result.incomplete_reason == "interrupted by the test"
    # The interrupted check and the one after it have no verdict; each says the run stopped, where, and why
    # (so does every requirement they trace to, in every report: tests/reports/test_unverified_reasons.py).
    reasons = {c.check: (c.verdict, c.reason, c.requests) for c in result.checks}
    assert reasons == {
        "stopped-midway": (Verdict.NOT_RUN, "the run stopped during this check: interrupted by the test", 1),
        "never-reached": (
            Verdict.NOT_RUN,
            "the run stopped during stopped-midway: interrupted by the test",
            0,
        ),
    }
    assert sum(result.status_counts.values()) >= 1  # what was sent before the stop is kept


def test_a_run_not_stopped_says_so() -> None:
    control = RunControl()

    @scenario("one-request", requirements=["STOP-OPERATION"])
    async def one_request(ctx: object) -> None:
        await ctx.stop("omsconf-unknown-x")  # type: ignore[attr-defined]

    checks = [spec_of(one_request)]
    target = parse_target(target_data("http://model.test"))
    result = asyncio.run(execute(target, _options(), checks=checks, control=control))
    assert not control.stopped
    assert result.stop_reason is not StopReason.INTERRUPTED
    assert [c.check for c in result.checks] == ["one-request"]
    assert result.checks[0].verdict is Verdict.PASS
