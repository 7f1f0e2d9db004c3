"""Whole runs with the checks that name no listed group running beside the keeper's chain (runner/lanes.py):
the same seed decides alike at any --concurrency, the lanes do overlap, the run's bound on requests in flight
holds across them, and nothing else is in flight while the race's stops are.

Against models whose answers come back in a shuffled order (random delays), including models whose faults
the keeper's checks exist to catch and one whose hangs close a class of requests. Counts only: nothing here
measures time.
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

import httpx
import pytest

from conformance.options import RunOptions
from conformance.results import RunResult
from conformance.runner.engine import execute
from conformance.target import parse_target

from .model import PROJECT, Model, target_data, variant
from .test_pace_runs import Shuffled

MODELS = {
    "correct": variant(),
    # Caught in the keeper's chain (a refusal that paused, a store matching ids as patterns) and beside it
    # (an echoed credential). (Not a lost update: whether a 10 ms window is caught depends on the machine's
    # load, tests/suite/test_race.py.)
    "faulty": variant(huawei=True, authorise_after_write=True, pattern_ids="like", echo_token=True),
    # Hangs on some ids beside the chain close a class of requests the chain sends too.
    "hanging": variant(hang_on_space=True),
}
FAILED = {
    "correct": set(),
    "faulty": {"STOP-PERMISSION", "STOP-PRECONDITION", "STOP-NO-ECHO"},
    "hanging": {"STOP-ROBUST", "STOP-TIMELY"},
}


def _decided(run: RunResult) -> list[Any]:
    """What each check decided: its verdict, why it stopped, how many requests it sent, what it left
    undecided and why, and the requirements it failed. (Not each failure's evidence: within a check, the
    requests of a faulty server's look-alikes go --concurrency at a time, so which of two look-alikes of one
    group paused it - and so failed - may differ; tests/suite/test_overlap.py.)"""
    return [
        (
            c.check,
            c.verdict,
            c.reason,
            c.requests,
            sorted(c.inconclusive.items()),
            sorted({f.requirement for f in c.failures}),
        )
        for c in run.checks
    ]


class Watch:
    """Which requests are being answered at once: the most of them, whether a request of the keeper's chain
    (a listed group) and one of the lane beside it (a minted id) were ever in flight together, and what was
    in flight whenever more than ``bound`` were."""

    def __init__(self, app: Any, bound: int) -> None:
        self.app, self.bound = app, bound
        self.now: list[str] = []
        self.both_lanes = False
        self.over_bound: list[list[str]] = []

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        path = scope["path"]
        self.now.append(path)
        if any("omsconf-unknown-" in p for p in self.now) and any(_listed(p) for p in self.now):
            self.both_lanes = True
        if len(self.now) > self.bound:
            self.over_bound.append(list(self.now))
        try:
            await self.app(scope, receive, send)
        finally:
            self.now.remove(path)


def _listed(path: str) -> bool:
    return f"/v2/{PROJECT}/taskgroups/" in path and "omsconf-unknown-" not in path


def _run(model: str, concurrency: int, shuffle_seed: int) -> tuple[RunResult, Watch]:
    choices = MODELS[model]
    huawei = model == "faulty"  # the show operation tells which request paused the keeper
    watch = Watch(Shuffled(Model(choices), shuffle_seed), concurrency)
    options = RunOptions(
        seed=7,
        transport=httpx.ASGITransport(app=watch),
        request_timeout=0.5 if model == "hanging" else 5.0,  # a hang costs a timeout; a busy machine none
        reruns=0,
        settle_timeout=0.5,
        concurrency=concurrency,
        effect_hold=0.0,
        max_examples=30,
    )
    target = parse_target(target_data("http://model.test", huawei=huawei))
    return asyncio.run(execute(target, options)), watch


@pytest.mark.parametrize("model", MODELS)
def test_a_whole_run_decides_alike_in_one_lane_and_in_two(model: str) -> None:
    sequential, _ = _run(model, 1, shuffle_seed=1)
    beside, watch = _run(model, 4, shuffle_seed=2)
    assert watch.both_lanes  # the lanes did run side by side
    differ = [(b, s) for b, s in zip(_decided(beside), _decided(sequential), strict=True) if b != s]
    assert not differ, differ
    failed = {f.requirement for c in sequential.checks for f in c.failures}
    assert FAILED[model] <= failed and (failed == set()) == (model == "correct"), failed
    if model == "hanging":
        assert any(c.reason.startswith("stopped after") for c in sequential.checks)


def test_the_run_bound_holds_across_lanes_and_the_race_is_alone() -> None:
    _, watch = _run("correct", 4, shuffle_seed=3)
    # More than --concurrency in flight only while the race's stops are: the listed groups it races, with
    # nothing of the other lane among them. (The preflight's two requests come before any lane.)
    assert watch.over_bound, "the race's stops were never in flight together"
    for in_flight in watch.over_bound:
        assert all(_listed(path) for path in in_flight), in_flight
