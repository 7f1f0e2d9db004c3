"""Length limits inside the page's range (checks/inner_limits.py): a server that answers a legal-length
value unlike a short one is failed with the threshold named, found by bisection in a handful of requests;
servers that treat every legal length alike pass.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from conformance.options import RunOptions
from conformance.results import CheckResult, Verdict
from conformance.runner.engine import execute
from conformance.target import parse_target

from .model import Model, target_data, variant


def limits_inside(model: Model, *, huawei: bool = False) -> CheckResult:
    target = parse_target(target_data("http://model.test", huawei=huawei))
    options = RunOptions(
        seed=7,
        transport=httpx.ASGITransport(app=model),
        reruns=0,
        request_timeout=2.0,
        checks=["limits-inside"],
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
