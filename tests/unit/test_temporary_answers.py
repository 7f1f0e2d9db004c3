"""A 502/503/504 ("try again later") to a request that was sent once and never repeated - one that could
have paused a listed group - decides nothing, so the runner hands it to no response check. Every other 5xx
still fails STOP-ROBUST, and so does a temporary answer that outlasted the retries of a repeatable request:
more of them once the target's busy answers have shown they fall at random (machinery/sender.py).
(The whole path, a busy gateway in front of a correct server: tests/suite/test_trust.py.)"""

from __future__ import annotations

import asyncio

import pytest

from conformance.checks.machinery import sender as sender_module
from conformance.checks.machinery.base import Kind, Sent
from conformance.checks.machinery.hang_budget import Credential, HangBudget, RequestClass
from conformance.checks.machinery.in_flight import InFlight
from conformance.checks.machinery.sender import Sender
from conformance.checks.oracles import no_server_error, temporary_and_unrepeatable
from conformance.results import Exchange
from conformance.spec import Profile, load_contract
from conformance.transport.http import HttpResult


class _Context:
    contract = load_contract(Profile.STRICT)
    request_timeout = 5.0

    def exchange_secrets(self, sent: Sent) -> list[str]:
        return []


def answer(status: int, *, repeatable: bool) -> Sent:
    result = HttpResult(status, [], b"<html>busy</html>", False, 1.0, None, Exchange("PUT", "u", {}, status))
    return Sent("PUT", "/v2/p/taskgroups/g/stop", Kind.STOP, "t", result, "effect", repeatable)


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_temporary_answer_to_a_request_never_repeated_decides_nothing(status: int) -> None:
    assert temporary_and_unrepeatable(answer(status, repeatable=False))


@pytest.mark.parametrize("status", [502, 503, 504])
def test_a_temporary_answer_that_outlasted_its_retries_is_judged(status: int) -> None:
    sent = answer(status, repeatable=True)
    assert not temporary_and_unrepeatable(sent)
    finding = no_server_error(_Context(), sent)
    assert finding is not None and finding.headline == f"Server error {status}"  # of STOP-ROBUST, its one


@pytest.mark.parametrize("status", [500, 501, 505])
def test_a_server_error_is_judged_even_when_the_request_was_never_repeated(status: int) -> None:
    sent = answer(status, repeatable=False)
    assert not temporary_and_unrepeatable(sent)
    finding = no_server_error(_Context(), sent)
    assert finding is not None and finding.headline == f"Server error {status}"  # of STOP-ROBUST, its one


class _Gateway:
    """A client whose answers to each path are given in turn (the last one repeats)."""

    request_timeout = 5.0

    def __init__(self, answers: dict[str, list[int]]) -> None:
        self.answers = answers
        self.asked: dict[str, int] = {}

    async def send(self, method: str, path: str, headers: object, **_: object) -> HttpResult:
        n = self.asked[path] = self.asked.get(path, 0) + 1
        statuses = self.answers[path]
        status = statuses[min(n, len(statuses)) - 1]
        return HttpResult(status, [], b"{}", False, 1.0, None, Exchange(method, path, {}, status))


def _finals(answers: dict[str, list[int]], order: list[str]) -> tuple[list[int | None], dict[str, int]]:
    """The final status of each path's request, sent in ``order`` by one sender; how often each was asked."""
    gateway = _Gateway(answers)

    async def main() -> list[int | None]:
        sender = Sender(gateway, HangBudget(5.0), InFlight(1))  # type: ignore[arg-type]
        cls = RequestClass("PUT", "stop", Credential.VALID, listed=False)
        return [(await sender.send(cls, "PUT", path, [], retry=True)).status for path in order]

    return asyncio.run(main()), gateway.asked


@pytest.fixture
def no_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sender_module, "RETRY_PAUSE_S", 0.0)


@pytest.mark.usefixtures("no_pauses")
def test_busy_answers_that_fall_at_random_are_outwaited_longer_once_seen() -> None:
    five_busy = [503, 503, 503, 503, 503, 200]
    # Before any busy answer came right, four in a row are judged (a default run's bound)...
    finals, asked = _finals({"/x": five_busy}, ["/x"])
    assert finals == [503] and asked == {"/x": 4}
    # ... after one did, a request is asked until its busy answers end (a deep fuzz's thousands of requests).
    finals, asked = _finals({"/a": [503, 200], "/x": five_busy}, ["/a", "/x"])
    assert finals == [200, 200] and asked == {"/a": 2, "/x": 6}


@pytest.mark.usefixtures("no_pauses")
def test_an_input_answered_busy_every_time_is_still_judged_and_other_errors_as_before() -> None:
    finals, asked = _finals(
        {"/a": [503, 200], "/always": [503], "/error": [500]}, ["/a", "/always", "/error"]
    )
    assert finals == [200, 503, 500]
    assert asked["/always"] == 1 + sender_module.MAX_TEMPORARY_RETRIES_WHEN_BUSY
    assert asked["/error"] == 1 + sender_module.MAX_TRANSIENT_RETRIES
