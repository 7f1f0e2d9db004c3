"""Length limits inside the page's range (checks/inner_limits.py): a server that answers a legal-length
value unlike a short one is failed with the threshold named, found by bisection in a handful of requests;
servers that treat every legal length alike pass.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx
import pytest

from conformance.options import RunOptions
from conformance.results import CheckResult, Verdict
from conformance.runner.engine import execute
from conformance.target import parse_target

from .model import Model, target_data, variant


def limits_inside(model: Any, *, huawei: bool = False, concurrency: int = 4) -> CheckResult:
    target = parse_target(target_data("http://model.test", huawei=huawei))
    options = RunOptions(
        seed=7,
        transport=httpx.ASGITransport(app=model),
        reruns=0,
        request_timeout=2.0,
        checks=["limits-inside"],
        concurrency=concurrency,
    )
    result = asyncio.run(execute(target, options))
    return next(c for c in result.checks if c.check == "limits-inside")


@pytest.mark.parametrize("huawei", [False, True], ids=["strict", "huawei"])
def test_a_server_treating_every_legal_length_alike_passes(huawei: bool) -> None:
    checked = limits_inside(Model(variant(huawei=huawei)), huawei=huawei)
    assert checked.verdict is Verdict.PASS, [f.title for f in checked.failures]
    assert checked.requests == 6  # a short and a long value of each kind, no bisection


def test_tokens_over_8192_characters_refused_as_invalid_are_found_and_named() -> None:
    checked = limits_inside(Model(variant(token_length_limit=8192)))
    assert checked.verdict is Verdict.FAIL
    (failure,) = checked.failures
    assert failure.requirement == "STOP-TOKEN-LEN"
    assert (
        "X-Auth-Token over 8,192 characters is answered 400 OMS.0064 where a short one gets 403"
        in failure.title
    )
    assert "the page allows up to 16,384" in failure.expected
    assert checked.requests <= 6 + 15  # the bisection: about log2(16,384 - 40) requests


def test_group_ids_over_255_characters_refused_otherwise_are_found_and_named() -> None:
    checked = limits_inside(Model(variant(group_id_limit=255)))
    (failure,) = checked.failures
    assert failure.requirement == "STOP-GROUP-LEN" and "group_id over 255 characters" in failure.title
    assert checked.requests <= 6 + 11


def test_a_proxy_header_limit_below_the_page_is_named_too() -> None:
    checked = limits_inside(Model(variant(header_limit=8192)))
    (failure,) = checked.failures
    assert failure.title.startswith("X-Auth-Token over 8,1") and "431" in failure.title


class FirstHeld:
    """The model, with the check's longest wrong token held until another request comes (or a second has
    passed: a guard against a hang, below the request timeout): whether they overlapped."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.second = asyncio.Event()
        self.seen = 0  # 1 once the longest token came
        self.overlapped = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if (b"x-auth-token", b"M" * 16_384) in scope.get("headers", []) and not self.seen:
            self.seen = 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.second.wait(), 1.0)
            self.overlapped = self.second.is_set()
        elif self.seen:
            self.second.set()
        await self.model(scope, receive, send)


def test_the_short_and_long_values_go_side_by_side_and_decide_as_one_by_one() -> None:
    held = FirstHeld(Model(variant(group_id_limit=255)))
    checked = limits_inside(held, concurrency=4)
    assert held.overlapped  # the first value's answer was not waited for before the next went out
    one_by_one = limits_inside(Model(variant(group_id_limit=255)), concurrency=1)
    assert [f.title for f in checked.failures] == [f.title for f in one_by_one.failures]
    assert checked.requests == one_by_one.requests
