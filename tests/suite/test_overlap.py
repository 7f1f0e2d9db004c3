"""Checks that send their independent requests --concurrency at a time (machinery/ordered.py) decide as a
sequential run does: against models whose answers come back in a shuffled order (random delays), with 8 in
flight and with 1, every check gives the same verdict, sends the same number of requests, and fails the
same requirements - for the correct model and for models each of these checks exists to catch.
Counts only: nothing here measures time.
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

from .model import Choices, Model, target_data, variant
from .test_pace_runs import Shuffled

OVERLAPPED = [
    *("lookalike-ids", "lookalike-tokens", "lookalike-projects", "precondition"),
    *("authn-refused", "authn-no-pause", "other-methods"),
    *("joined-paths", "authz-other-project", "header-case"),
]
# Keeper checks whose stops each could pause the keeper: the stop a finding names is the one a run one by one
# names, so their findings' titles are compared too, in order.
ATTRIBUTED = ["joined-paths", "authz-other-project"]
# The faulty models those checks exist to catch: there each names at least one stop.
CAUGHT_BY = {"slash decoded before routing": "joined-paths", "group found by id alone": "authz-other-project"}
# effect-lasts looks again at the groups the other two paused, all at once (the race sends 17 at once in
# any run, so these are compared by their decisions only).
LOOKED_AGAIN = ["concurrency", "effect", "effect-lasts"]
MODELS = {
    "correct": variant(),
    "case-insensitive group id": variant(case_insensitive_group_id=True),
    "prefix match": variant(prefix_match=True),
    "case-insensitive token": variant(token_case_insensitive=True),
    "case-insensitive project": variant(case_insensitive_project=True),
    "path parameters dropped": variant(drop_path_params=True),
    "any status paused": variant(pause_any_status=True),
    "missing token allowed": variant(missing_token_allowed=True),
    "slash decoded before routing": variant(slash_decoded_before_routing=True),
    "group found by id alone": variant(global_group_lookup=True),
}
MODELS_LOOKED_AGAIN = {"correct": variant(), "pauses that revert": variant(pause_reverts_s=0.2)}
# huawei: the checks whose reads overlap, and AK/SK's stops of a minted id.
ON_HUAWEI = [
    *("authz-other-project", "header-case", "aksk-signature", "precondition", "refusal-unchanged"),
    "show-status",
]
MODELS_ON_HUAWEI = {
    "correct": variant(huawei=True),
    "validation after the write": variant(huawei=True, validate_after_write=True),
    "any signature": variant(huawei=True, any_signature=True),
    "show of a bad shape": variant(huawei=True, show_bad_shape=True),
}


class InFlight:
    """Counts the requests being answered at once, the most of them at any time."""

    def __init__(self, app: Any) -> None:
        self.app, self.now, self.most = app, 0, 0

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            await self.app(scope, receive, send)
        finally:
            self.now -= 1


def _run(
    choices: Choices, concurrency: int, shuffle_seed: int, checks: list[str] = OVERLAPPED
) -> tuple[RunResult, int]:
    app = InFlight(Shuffled(Model(choices), shuffle_seed))
    options = RunOptions(
        seed=7,
        transport=httpx.ASGITransport(app=app),
        reruns=0,
        settle_timeout=0.5,
        concurrency=concurrency,
        effect_hold=0.5,  # the reverting model runs a group again 0.2 s after its pause
        checks=checks,
    )
    target = parse_target(target_data("http://model.test", huawei=choices.huawei))
    return asyncio.run(execute(target, options)), app.most


def _decided(run: RunResult) -> list[tuple[str, str, int, list[str]]]:
    return [
        (c.check, c.verdict.value, c.requests, sorted({f.requirement for f in c.failures}))
        for c in run.checks
        if c.check in OVERLAPPED + LOOKED_AGAIN
    ]


def _named(run: RunResult) -> dict[str, list[str]]:
    return {c.check: [str(f.title) for f in c.failures] for c in run.checks if c.check in ATTRIBUTED}


@pytest.mark.parametrize("model", MODELS)
def test_overlapped_checks_decide_as_a_sequential_run(model: str) -> None:
    sequential, one_at_a_time = _run(MODELS[model], 1, shuffle_seed=1)
    overlapped, at_once = _run(MODELS[model], 8, shuffle_seed=2)
    assert at_once > max(
        one_at_a_time, 2
    )  # the checks' requests did overlap (the preflight sends two at once)
    assert _decided(overlapped) == _decided(sequential)
    assert _named(overlapped) == _named(sequential)
    if model in CAUGHT_BY:
        assert _named(sequential)[CAUGHT_BY[model]], _named(sequential)
    verdicts = {check: verdict for check, verdict, _, _ in _decided(sequential)}
    if model == "correct":
        assert set(verdicts.values()) == {"pass"}, verdicts
    else:
        assert "fail" in verdicts.values(), verdicts  # each faulty model is caught by one of these checks


@pytest.mark.parametrize("model", ["correct", "pauses that revert"])
def test_groups_looked_at_again_together_decide_as_one_by_one(model: str) -> None:
    sequential, _ = _run(MODELS_LOOKED_AGAIN[model], 1, shuffle_seed=1, checks=LOOKED_AGAIN)
    overlapped, _ = _run(MODELS_LOOKED_AGAIN[model], 8, shuffle_seed=2, checks=LOOKED_AGAIN)
    assert _decided(overlapped) == _decided(sequential)
    lasts = next(c for c in sequential.checks if c.check == "effect-lasts")
    assert lasts.requests >= 2  # both paused groups were looked at again
    assert lasts.verdict.value == ("pass" if model == "correct" else "fail")


@pytest.mark.parametrize("model", MODELS_ON_HUAWEI)
def test_huawei_checks_decide_and_name_as_one_by_one(model: str) -> None:
    def run(concurrency: int, shuffle_seed: int) -> list[tuple[str, str, int, list[str]]]:
        result, _ = _run(MODELS_ON_HUAWEI[model], concurrency, shuffle_seed, checks=ON_HUAWEI)
        return [
            (c.check, c.verdict.value, c.requests, [str(f.title) for f in c.failures])
            for c in result.checks
            if c.check in ON_HUAWEI
        ]

    sequential = run(1, shuffle_seed=1)
    assert run(8, shuffle_seed=2) == sequential
    failed = {check for check, verdict, _, _ in sequential if verdict == "fail"}
    assert (
        failed
        == {
            "correct": set(),
            "validation after the write": {"refusal-unchanged"},
            "any signature": {"aksk-signature"},
            "show of a bad shape": {"show-status"},
        }[model]
    ), sequential
