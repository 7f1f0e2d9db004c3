"""Whole runs under --concurrency and against a throttling gateway.

- Determinism: with a fixed seed, a run with 8 requests in flight gives the same verdicts, failures,
  evidence and oracle counts, in the same order, as a sequential run - against a faulty model whose answers
  come back in a shuffled order (random delays) and whose hangs make a check stop early.
- Back-off: against a loopback gateway that answers 429 without Retry-After, every 429 is waited out and
  recorded, none reaches a verdict, and ``--rate-limit`` under the gateway's rate meets no 429 at all.
Counts only: nothing here measures time.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import MutableMapping
from typing import Any

import httpx
import pytest

from conformance.options import RunOptions
from conformance.results import Exchange, RunResult
from conformance.runner.engine import execute
from conformance.spec import load_requirements
from conformance.target import parse_target

from .model import Model, target_data, variant
from .throttle import LoopbackServer, Throttle, WindowThrottle

FAULTS = variant(
    crash_on_encoded_slash=True,
    crash_on_long_project=True,
    unknown_group_200=True,
    echo_token=True,
    hang_on_space=True,
)


class Shuffled:
    """Delays each answer by a random few milliseconds, so concurrent answers arrive out of order."""

    def __init__(self, app: Any, seed: int) -> None:
        self.app, self.random = app, random.Random(seed)

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        await asyncio.sleep(self.random.random() * 0.004)
        await self.app(scope, receive, send)


def _run(concurrency: int, shuffle_seed: int) -> RunResult:
    target = parse_target(target_data("http://model.test"))
    options = RunOptions(
        seed=7,
        transport=httpx.ASGITransport(app=Shuffled(Model(FAULTS), shuffle_seed)),
        request_timeout=0.3,
        reruns=0,
        settle_timeout=0.5,
        concurrency=concurrency,
        checks=["fuzz", "hostile-ids", "group-id-length", "project-id-length", "token-length"],
    )
    return asyncio.run(execute(target, options))


def _evidence(exchange: Exchange) -> tuple[Any, ...]:
    return (exchange.url, exchange.status, exchange.request_headers)


def _observable(run: RunResult) -> list[Any]:
    """Everything a report shows about the checks, minus timings and random request ids. Not the run's
    status histogram: it counts every exchange, and how often a hang is probed or a timed-out request
    retried depends on what else was in flight (machinery/hang_budget.py, machinery/sender.py)."""
    return [
        (
            c.check,
            c.verdict,
            c.reason,
            c.requests,
            sorted(c.inconclusive.items()),
            c.notes,
            [
                (
                    f.requirement,
                    f.title,
                    f.text(),
                    [(e.url, e.status, e.request_headers) for e in f.evidence],
                )
                for f in c.failures
            ],
        )
        for c in run.checks
    ]


@pytest.fixture(scope="module")
def sequential() -> RunResult:
    return _run(1, shuffle_seed=1)


def test_the_faulty_model_gives_failures_and_a_stopped_check(sequential: RunResult) -> None:
    # The comparison below is only worth something if there is much to compare.
    failures = [f for c in sequential.checks for f in c.failures]
    assert len(failures) >= 10
    assert any("stopped after" in c.reason for c in sequential.checks), [c.reason for c in sequential.checks]


@pytest.mark.parametrize("shuffle_seed", [2, 3])
def test_concurrency_8_judges_exactly_as_a_sequential_run(sequential: RunResult, shuffle_seed: int) -> None:
    concurrent = _run(8, shuffle_seed)
    assert concurrent.pace is not None and concurrent.pace.concurrency == 8
    assert _observable(concurrent) == _observable(sequential)


def _throttled_run(server: LoopbackServer, rate_limit: float | None) -> RunResult:
    target = parse_target(target_data(server.base_url))
    options = RunOptions(
        seed=7,
        request_timeout=5.0,
        reruns=0,
        rate_limit=rate_limit,
        concurrency=4,
        checks=["hostile-ids", "group-id-length", "token-length"],
    )
    return asyncio.run(execute(target, options))


def test_429_without_retry_after_is_backed_off_recorded_and_never_judged() -> None:
    gateway = Throttle(Model(), rate=40, burst=5)
    with LoopbackServer(gateway) as server:
        run = _throttled_run(server, rate_limit=None)
    assert gateway.refused > 0  # the run did meet the gateway's limit
    assert run.pace is not None
    assert len(run.pace.throttled) == gateway.refused  # every 429 seen is in the report
    assert all(t.retry_after is None and t.rate_after is not None for t in run.pace.throttled)
    assert run.pace.lowest_rate is not None and run.pace.lowest_rate < 40
    # Each was waited out and asked again: counted among the run's exchanges, never judged.
    assert run.status_counts["429"] == len(run.pace.throttled)
    assert run.pace.requests == gateway.passed + gateway.refused
    assert run.conforms(load_requirements()), [f.text() for c in run.checks for f in c.failures]


def test_a_rate_limit_under_the_gateways_rate_meets_no_429() -> None:
    gateway = Throttle(Model(), rate=40, burst=5)
    with LoopbackServer(gateway) as server:
        run = _throttled_run(server, rate_limit=20)
    assert gateway.refused == 0
    assert run.pace is not None and run.pace.throttled == [] and run.pace.rate_limit == 20
    assert run.pace.requests == gateway.passed > 30


def _race_run(server: LoopbackServer, rate_limit: float, checks: list[str]) -> RunResult:
    target = parse_target(target_data(server.base_url))
    options = RunOptions(seed=7, request_timeout=5.0, reruns=0, rate_limit=rate_limit, checks=checks)
    return asyncio.run(execute(target, options))


def test_the_race_is_paced_as_one_block_and_meets_no_429() -> None:
    # A gateway allowing 40 requests in any second, and a run paced at 30/s: the ~50 requests before the race
    # keep ~30 in the window, so 16 stops released at once pass only if the race first waits for 16
    # requests' worth of the rate (~0.5 s), as a block.
    gateway = WindowThrottle(Model(), rate=40)
    with LoopbackServer(gateway) as server:
        run = _race_run(server, 30, ["hostile-ids", "group-id-length", "token-length", "concurrency"])
    assert gateway.refused == 0
    assert run.pace is not None and run.pace.throttled == []
    concurrency = next(c for c in run.checks if c.check == "concurrency")
    assert concurrency.verdict.value == "pass", concurrency.failures
    assert run.pace.requests == gateway.passed > 40  # the race's stops are counted like every other request


def test_a_rate_limit_under_the_race_width_narrows_the_race() -> None:
    gateway = Throttle(Model(), rate=5, burst=5)
    with LoopbackServer(gateway) as server:
        run = _race_run(server, 5, ["concurrency"])
    assert gateway.refused == 0
    concurrency = next(c for c in run.checks if c.check == "concurrency")
    assert concurrency.verdict.value == "pass", concurrency.failures
    assert any("5 stops raced instead of 16, within --rate-limit 5/s" in n for n in concurrency.notes)
