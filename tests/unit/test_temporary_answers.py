"""A 502/503/504 ("try again later") to a request that was sent once and never repeated - one that could
have paused a listed group - decides nothing, so the runner hands it to no response check. Every other 5xx
still fails STOP-ROBUST, and so does a temporary answer that outlasted the retries of a repeatable request.
(The whole path, a busy gateway in front of a correct server: tests/suite/test_trust.py.)"""

from __future__ import annotations

import pytest

from conformance.checks.machinery.base import Kind, Sent
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
