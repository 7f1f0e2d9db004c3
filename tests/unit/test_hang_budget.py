"""The run's hang budget (machinery/hang_budget.py): which class a request is, when a class closes, how often
a timeout is retried, the allowance that bounds a run, and the probe that tells a dead target."""

from __future__ import annotations

import asyncio

import pytest

from conformance.checks.machinery.base import Kind
from conformance.checks.machinery.hang_budget import (
    ALLOWANCE_TIMEOUTS,
    Credential,
    HangBudget,
    RequestClass,
    TargetStoppedAnswering,
    class_of,
)
from conformance.redact import tampered
from conformance.results import Exchange
from conformance.spec.paths import stop_path
from conformance.target import AkSk, Project, parse_target
from conformance.transport.http import HttpResult, Outcome
from tests.suite.model import OTHER, PROJECT, READONLY, target_data

TARGET = parse_target(target_data("http://model.test", huawei=True))
OWN, FOREIGN = TARGET.project, TARGET.other_project
assert FOREIGN is not None
LISTED = sorted(OWN.groups_in("monitoring"))[0]


def cls_of(
    project_id: str, group: str, headers: list[tuple[str, str]], signer: Project | None = None
) -> RequestClass:
    return class_of(TARGET, "PUT", Kind.STOP, stop_path(project_id, group), headers, signer)


def test_credentials_are_judged_against_the_paths_project() -> None:
    token = OWN.token or ""
    assert cls_of(PROJECT, "x", [("X-Auth-Token", token)], OWN).credential is Credential.VALID
    assert cls_of(OTHER, "x", [("X-Auth-Token", token)], OWN).credential is Credential.FOREIGN
    assert cls_of("zzz", "x", [("X-Auth-Token", token)], OWN).credential is Credential.FOREIGN
    assert cls_of(OTHER, "x", [], FOREIGN).credential is Credential.VALID  # B's token on B's path
    assert cls_of(PROJECT, "x", [("X-Auth-Token", READONLY)]).credential is Credential.READ_ONLY
    assert cls_of(PROJECT, "x", []).credential is Credential.NONE
    assert cls_of(PROJECT, "x", [("X-Auth-Token", "\xa0\t\xa0")]).credential is Credential.NONE
    assert cls_of(PROJECT, "x", [("x-auth-token", token)]).credential is Credential.VALID
    for refused in (tampered(token), token + "x", "M" * 16384):
        assert cls_of(PROJECT, "x", [("X-Auth-Token", refused)]).credential is Credential.REFUSED
    two_lines = [("X-Auth-Token", READONLY), ("X-Auth-Token", token)]
    assert cls_of(PROJECT, "x", two_lines).credential is Credential.REFUSED


def test_a_signature_is_valid_only_with_the_targets_key_pair() -> None:
    assert OWN.aksk is not None
    signer = Project(PROJECT, aksk=OWN.aksk)
    wrong = Project(PROJECT, aksk=AkSk(OWN.aksk.ak, OWN.aksk.sk + "x"))
    assert cls_of(PROJECT, "x", [], signer).credential is Credential.VALID
    assert cls_of(PROJECT, "x", [], wrong).credential is Credential.REFUSED


def test_listed_means_listed_under_the_paths_project() -> None:
    token = [("X-Auth-Token", OWN.token or "")]
    assert cls_of(PROJECT, LISTED, token, OWN).listed
    assert not cls_of(OTHER, LISTED, token, OWN).listed  # A's group through B's project is unknown there
    assert not cls_of(PROJECT, LISTED + "x", token, OWN).listed
    assert str(cls_of(PROJECT, LISTED, token, OWN)) == "PUT stop with the valid credential, a listed group"


def result(outcome: Outcome, elapsed_s: float = 1.0) -> HttpResult:
    exchange = Exchange("PUT", "http://t/v2/p/taskgroups/g/stop", {}, curl="curl -sS -X PUT http://t/")
    status = 400 if outcome is Outcome.ANSWERED else None
    return HttpResult(status, [], b"", False, elapsed_s * 1000, None, exchange, outcome)


A = RequestClass("PUT", "stop", Credential.VALID, False)
B = RequestClass("PUT", "stop", Credential.FOREIGN, False)
C = RequestClass("GET", "show", Credential.VALID, True)
TIMED_OUT, ANSWERED = result(Outcome.TIMED_OUT), result(Outcome.ANSWERED)


def test_a_class_closes_after_two_timeouts_and_only_its_first_is_retried() -> None:
    async def scenario() -> None:
        budget = HangBudget(1.0)
        assert budget.may_retry(A)  # its first timeout (counted once it is delivered)
        await budget.observe(A, TIMED_OUT)
        assert not budget.may_retry(A) and not budget.refusal(A)
        await budget.observe(A, TIMED_OUT)
        assert "went unanswered 2 times" in budget.refusal(A)
        assert not budget.refusal(B)
        # The target has shown a habit: a first timeout elsewhere is not retried, and closes its class.
        await budget.observe(B, ANSWERED)
        assert not budget.may_retry(B)
        await budget.observe(B, TIMED_OUT)
        assert budget.refusal(B)
        assert [str(c) for c in budget.closed] == [str(A), str(B)]
        assert all("curl -sS" in note for note in budget.notes())

    asyncio.run(scenario())


def test_the_allowance_bounds_the_whole_run() -> None:
    now = [0.0]

    async def scenario() -> None:
        budget = HangBudget(1.0, clock=lambda: now[0])
        classes = [RequestClass(m, "stop path", Credential.VALID, False) for m in "ABCDEFGHIJ"]
        for cls in classes[:ALLOWANCE_TIMEOUTS]:
            now[0] += 1.0  # one after another: each waited a whole timeout of its own
            await budget.observe(cls, TIMED_OUT)
            await budget.observe(C, ANSWERED)  # answers between them: no probe
        assert budget.waited_s == pytest.approx(ALLOWANCE_TIMEOUTS)
        assert "sends nothing more" in budget.refusal(classes[-1])
        assert "sends nothing more" in budget.refusal(C)  # even a class that always answered

    asyncio.run(scenario())


def test_concurrent_timeouts_count_once_against_the_allowance() -> None:
    async def scenario() -> None:
        budget = HangBudget(1.0, clock=lambda: 5.0)  # a fixed clock: all eight ended at the same moment
        for _ in range(8):  # a batch of concurrent requests that all timed out together
            await budget.observe(A, TIMED_OUT)
        assert budget.waited_s == pytest.approx(1.0)

    asyncio.run(scenario())


def test_waits_counted_out_of_order_make_their_union() -> None:
    async def scenario() -> None:
        budget = HangBudget(1.0)
        # Delivered in input order, not in the order they ended: [5, 6], then [3, 4], then [4.5, 5.5].
        for ended_at in (6.0, 4.0, 5.5):
            await budget.observe(A, TIMED_OUT, ended_at)
        assert budget.waited_s == pytest.approx(2.5)  # [3, 4] and [4.5, 6]

    asyncio.run(scenario())


@pytest.mark.parametrize("alive", [True, False])
def test_two_classes_unanswered_in_a_row_ask_the_probe(alive: bool) -> None:
    probed: list[int] = []

    async def probe() -> HttpResult:
        probed.append(1)
        return ANSWERED if alive else TIMED_OUT

    async def scenario() -> None:
        budget = HangBudget(1.0, probe=probe, probe_class=C)
        await budget.observe(A, TIMED_OUT)
        await budget.observe(A, TIMED_OUT)  # one class only: could be that class alone
        assert probed == []
        if alive:
            await budget.observe(B, TIMED_OUT)
            assert probed == [1] and not budget.dead
        else:
            with pytest.raises(TargetStoppedAnswering):
                await budget.observe(B, TIMED_OUT)
            with pytest.raises(TargetStoppedAnswering):
                budget.refusal(C)  # every later request ends the run too

    asyncio.run(scenario())
