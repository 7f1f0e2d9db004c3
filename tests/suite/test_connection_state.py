"""Authentication that sticks to a connection (checks/connection_state.py), over real sockets: a server that
lets a connection's first principal stand for later requests on it is caught - and only on one connection,
which is why the check exists - while correct servers pass, one that closes every connection after its
answer included.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from conformance.options import RunOptions
from conformance.results import CheckResult, Verdict
from conformance.runner.engine import execute
from conformance.target import parse_target

from .field_server import Field, FieldServer
from .model import Choices, Model, target_data, variant


def run_behind(model: Model, behaviour: Field, *, huawei: bool, check: str) -> CheckResult:
    with FieldServer(model, behaviour) as server:
        target = parse_target(target_data(server.base_url, huawei=huawei))
        options = RunOptions(
            seed=5, request_timeout=5.0, reruns=0, settle_timeout=0.5, effect_hold=0.0, checks=[check]
        )
        result = asyncio.run(execute(target, options))
    return next(c for c in result.checks if c.check == check)


@pytest.mark.parametrize("huawei", [False, True], ids=["strict", "huawei"])
def test_a_connection_that_lends_its_first_principal_is_caught(huawei: bool) -> None:
    faulty = Model(variant(huawei=huawei, auth_per_connection=True))
    checked = run_behind(faulty, Field(), huawei=huawei, check="connection-state")
    assert checked.verdict is Verdict.FAIL
    titles = [f.title for f in checked.failures]
    assert any("no X-Auth-Token after" in t and "same connection was not refused" in t for t in titles), (
        titles
    )
    assert any(f.evidence[0].status == 200 for f in checked.failures)  # the keeper was paused by it


def test_the_same_fault_passes_every_request_sent_on_a_connection_of_its_own() -> None:
    """Why the check is needed: the bad-credential checks send each stop of a listed group alone."""
    faulty = Model(variant(auth_per_connection=True))
    assert run_behind(faulty, Field(), huawei=False, check="authn-no-pause").verdict is Verdict.PASS


@pytest.mark.parametrize("huawei", [False, True], ids=["strict", "huawei"])
def test_a_correct_server_keeping_connections_alive_passes(huawei: bool) -> None:
    checked = run_behind(Model(variant(huawei=huawei)), Field(), huawei=huawei, check="connection-state")
    assert checked.verdict is Verdict.PASS, [f.title for f in checked.failures] + checked.notes
    assert not any("closed the connection" in n for n in checked.notes)


def test_a_correct_server_closing_every_connection_after_its_answer_passes_and_says_so() -> None:
    checked = run_behind(Model(variant()), Field(close_every=1), huawei=False, check="connection-state")
    assert checked.verdict is Verdict.PASS, [f.title for f in checked.failures]
    assert any("closed the connection after an answer" in n for n in checked.notes)


def _decided(model: Model, behaviour: Field, concurrency: int) -> tuple[str, int, list[str], list[str]]:
    with FieldServer(model, behaviour) as server:
        return _decided_on(server, concurrency)


def _decided_on(server: FieldServer, concurrency: int) -> tuple[str, int, list[str], list[str]]:
    target = parse_target(target_data(server.base_url))
    options = RunOptions(
        seed=5,
        request_timeout=5.0,
        reruns=0,
        settle_timeout=0.5,
        concurrency=concurrency,
        checks=["connection-state"],
    )
    result = asyncio.run(execute(target, options))
    checked = next(c for c in result.checks if c.check == "connection-state")
    return checked.verdict.value, checked.requests, [f.title for f in checked.failures], checked.notes


@pytest.mark.parametrize(
    ("choices", "behaviour"),
    [
        (variant(), Field()),
        (variant(), Field(close_every=1)),
        (variant(auth_per_connection=True), Field()),
        # Every stop without a token pauses: the first pair's and the second's could both be the one that
        # did, and the finding names the first, as one by one.
        (variant(missing_token_allowed=True), Field()),
    ],
    ids=["correct", "closing after every answer", "connection lends its principal", "no token needed"],
)
def test_pairs_side_by_side_decide_and_name_as_one_by_one(choices: Choices, behaviour: Field) -> None:
    """strict: the pairs overlap (8 in flight), their stops of the keeper in order - same verdict, requests,
    findings (titles, in order) and notes as one pair at a time."""
    one_by_one = _decided(Model(choices), behaviour, concurrency=1)
    assert _decided(Model(choices), behaviour, concurrency=8) == one_by_one
    assert (one_by_one[0] == "pass") is (choices == variant()), one_by_one


class SlowRefusals(Model):
    """Correct, but a stop of a listed group without a valid token waits 0.4 s before its refusal (an IAM
    lookup that the run's minted ids, which name no group, never reach)."""

    async def handle(self, scope: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        token = dict(scope["headers"]).get(b"x-auth-token")
        if scope["method"] == "PUT" and token != self.token.encode() and "omsconf" not in scope["path"]:
            await asyncio.sleep(0.4)
        return await super().handle(scope)


def test_a_connection_closed_while_its_pair_waited_for_the_turn_is_sent_again() -> None:
    """A pair's valid request goes ahead of its turn; the server closes a connection idle for 0.2 s, and the
    stop before the pair's takes 0.4 s to be refused: the pair is sent again once its turn has come, so
    nothing is left unsent and no close is blamed on the server's habit."""
    one_by_one = _decided(SlowRefusals(variant()), Field(header_timeout=0.2), concurrency=1)
    with FieldServer(SlowRefusals(variant()), Field(header_timeout=0.2)) as server:
        overlapped = _decided_on(server, concurrency=8)
        assert server.closed_idle > 0  # connections did wait for their turn, and were closed for it
    assert overlapped[0] == one_by_one[0] == "pass"
    assert overlapped[2:] == one_by_one[2:] == ([], [])  # no finding, no "closed the connection" note
    assert overlapped[1] > one_by_one[1] == 12  # the valid request of each pair sent again
