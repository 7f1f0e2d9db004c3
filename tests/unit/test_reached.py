"""machinery/reached.py: a legal value that never reached the application, whatever layer refused it and
however - and no false alarm where the application itself answers a long value as it answers a short one."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.checks.machinery.reached import WIDE_CHARACTERS, encoded_bytes, not_reached, wide_value
from conformance.results import Verdict
from conformance.transport.http import Outcome
from tests.suite.model import variant
from tests.suite.test_catalogue import run_suite, verdicts
from tests.unit.test_oracles import ENVELOPE, answer, error

TEXT = [("Content-Type", "text/plain; charset=utf-8")]
HTML = [("Content-Type", "text/html")]
SHORT = error(400)  # the application's envelope, to a short value


def test_wide_ids_are_the_page_limit_in_characters_and_up_to_12_kib_on_the_wire() -> None:
    sizes = [encoded_bytes(wide_value(1024, ch)) for ch in WIDE_CHARACTERS]
    assert sizes == [6144, 9216, 12288]
    assert all(len(wide_value(1024, ch)) == 1024 for ch in WIDE_CHARACTERS)
    assert encoded_bytes("a-b.c~_") == 7 and encoded_bytes("a/b") == 5


@given(st.text(st.characters(exclude_categories=["Cs"])))
def test_encoded_bytes_is_the_length_of_the_id_percent_encoded(value: str) -> None:
    assert encoded_bytes(value) == len(quote(value, safe=""))


@pytest.mark.parametrize(
    ("refusal", "said"),
    [
        (answer(None, outcome=Outcome.DROPPED, error="closed"), "closed before any answer"),
        (error(414, b"", HTML), "414 URI Too Long"),
        (error(431, b"", []), "431 Request Header Fields Too Large"),
        (error(494, ENVELOPE), "494"),  # a limit status, even in the envelope's shape
        (error(413, b"", []), "413"),
        (error(400, b"Invalid HTTP request received.", TEXT), "400 text/plain, where a short value got 400"),
        (error(400, b"<html>Bad Request</html>", HTML), "400 text/html"),
    ],
    ids=["close", "414", "431", "494", "413", "uvicorn", "gunicorn"],
)
def test_every_way_a_layer_refuses_a_legal_value_is_named(refusal: object, said: str) -> None:
    why = not_reached(refusal, SHORT)  # type: ignore[arg-type]
    assert why is not None and said in why


def test_what_the_application_answers_is_reached() -> None:
    assert not_reached(error(400), SHORT) is None  # the envelope
    assert not_reached(error(403), SHORT) is None  # another status, still the application's envelope
    plain = error(400, b"OMS.1009: no such group", TEXT)
    assert not_reached(plain, plain) is None  # plain text for both: the envelope's finding, not a length one
    assert not_reached(answer(None, outcome=Outcome.TIMED_OUT), SHORT) is None  # the hang rules judge it
    # Without a short value's answer to compare, only limits, HTML pages and closes tell.
    assert not_reached(plain, None) is None
    assert not_reached(error(400, b"<html/>", HTML), None) is not None


@pytest.mark.parametrize("switch", ["plain_text_errors", "html_errors"])
def test_an_application_without_the_envelope_fails_the_envelope_not_the_lengths(switch: str) -> None:
    got = verdicts(run_suite(variant(**{switch: True}), timeout=0.5))
    assert got["STOP-ERROR-ENVELOPE"] is Verdict.FAIL
    for requirement in ("STOP-GROUP-LEN", "STOP-PROJECT-LEN", "STOP-TOKEN-LEN"):
        assert got[requirement] is Verdict.PASS, requirement


def fuzz_failures(**switches: object) -> dict[str, list[str]]:
    import asyncio

    import httpx

    from conformance.options import RunOptions
    from conformance.runner.engine import execute
    from conformance.target import parse_target
    from tests.suite.model import Model, target_data

    app = Model(variant(**switches))
    options = RunOptions(seed=3, checks=["fuzz"], reruns=0, transport=httpx.ASGITransport(app=app))
    result = asyncio.run(execute(parse_target(target_data("http://model.test")), options))
    found: dict[str, list[str]] = {}
    for check in result.checks:
        for failure in check.failures:
            found.setdefault(failure.requirement, []).append(failure.title)
    return found


@pytest.mark.parametrize(
    ("switches", "requirement"),
    [
        ({"header_limit": 8192, "header_limit_status": 400, "header_limit_answer": "text"}, "STOP-TOKEN-LEN"),
        ({"request_line_limit": 1000, "request_line_limit_answer": "text"}, "STOP-GROUP-LEN"),
    ],
    ids=["plain-text 400 to a long token", "plain-text 400 to a long request line"],
)
def test_fuzz_names_the_length_requirement_of_a_legal_value_refused_in_front(
    switches: dict[str, object], requirement: str
) -> None:
    titles = fuzz_failures(**switches).get(requirement, [])
    assert any("did not reach the application" in title for title in titles), titles


def test_fuzz_blames_no_length_on_an_application_that_answers_html_to_every_value() -> None:
    found = fuzz_failures(html_errors=True)
    assert not {"STOP-GROUP-LEN", "STOP-PROJECT-LEN", "STOP-TOKEN-LEN"} & set(found), found


def test_sending_order_puts_a_legal_held_head_last_and_a_negative_long_one_with_the_long_values() -> None:
    """checks/fuzz.py: short cases first, then long values, then the legal heads held back as a network
    delivers them; a negative case goes whole (``fuzz._sent``), so it waits for no hold."""
    from conformance.checks.fuzz import sending_order
    from conformance.checks.machinery.generation import TOKEN, GeneratedCase

    def case(token: str | None, negated: str | None, group: str = "g") -> GeneratedCase:
        return GeneratedCase("coverage", "", "p", group, token, token is not None, negated, ())

    long_token = "M" * 16385
    assert sending_order(case(None, None), 100) == 0
    assert sending_order(case(None, None, group="g" * 300), 100) == 1
    assert sending_order(case(long_token[:-1], None), 100) == 2
    assert sending_order(case(long_token, TOKEN), 100) == 1
