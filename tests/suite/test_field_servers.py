"""Correct servers that behave as servers and gateways in the field do must conform, over real sockets.

Each model here is the correct one (tests/suite/model.py with no fault) behind tests/suite/field_server.py,
which adds one ordinary behaviour of real deployments: compressed bodies, connections closed when idle or
half-sent, connections closed after some answers without notice, chunked bodies. None of that is the
application's doing, so none of it may show as a failure, and none may leave a requirement undecided.
The target lists only three pausable groups, as a provider's account would.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from conformance.options import RunOptions
from conformance.results import RunResult, Verdict
from conformance.runner.engine import execute
from conformance.spec import load_requirements
from conformance.target import parse_target

from . import stdlib_server
from .field_server import Field, FieldServer
from .model import Model, target_data, variant

CATALOGUE = load_requirements()

ORDINARY = {
    "gzips JSON bodies (nginx gzip on)": Field(gzip=True),
    "deflates JSON bodies, chunked": Field(deflate=True, chunked=True),
    "closes connections idle or half-sent for 0.2 s": Field(header_timeout=0.2),
    "answers 408, then closes, after 0.2 s": Field(header_timeout=0.2, answer_408=True),
    "closes the connection after every 7th answer, unannounced": Field(close_every=7),
    "all of them at once": Field(gzip=True, header_timeout=0.2, close_every=7, chunked=True),
}


def three_pausable(base_url: str, *, huawei: bool) -> dict[str, Any]:
    data = target_data(base_url, huawei=huawei)
    data["groups"]["monitoring"] = data["groups"]["monitoring"][:2]
    data["groups"]["creating"] = data["groups"]["creating"][:1]
    return data


def run_behind(behaviour: Field, *, huawei: bool) -> tuple[RunResult, FieldServer]:
    with FieldServer(Model(variant(huawei=huawei)), behaviour) as server:
        target = parse_target(three_pausable(server.base_url, huawei=huawei))
        options = RunOptions(seed=11, request_timeout=5.0, reruns=0, settle_timeout=1.0, effect_hold=0.0)
        return asyncio.run(execute(target, options)), server


def problems(result: RunResult) -> list[str]:
    found = [f"{f.requirement}: {f.title}: {f.text()}" for c in result.checks for f in c.failures]
    found += [f"{rid} inconclusive: {why}" for c in result.checks for rid, why in c.inconclusive.items()]
    found += [f"{c.check}: {c.verdict.value} {c.reason}" for c in result.checks if c.verdict is Verdict.FLAKY]
    return found


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ORDINARY))
@pytest.mark.parametrize("profile", ["strict", "huawei"])
def test_a_correct_server_behaving_as_servers_do_conforms(name: str, profile: str) -> None:
    result, _server = run_behind(ORDINARY[name], huawei=profile == "huawei")
    assert problems(result) == []
    assert result.conforms(CATALOGUE)


@pytest.mark.slow
def test_compressed_answers_are_judged_decoded_and_the_coding_is_in_the_evidence() -> None:
    faulty = variant(int_error_code=True)  # a real envelope fault, inside gzip
    with FieldServer(Model(faulty), Field(gzip=True)) as server:
        target = parse_target(three_pausable(server.base_url, huawei=False))
        result = asyncio.run(execute(target, RunOptions(seed=11, request_timeout=5.0, reruns=0)))
    envelope = [f for c in result.checks for f in c.failures if f.requirement == "STOP-ERROR-ENVELOPE"]
    assert envelope, "an envelope fault inside a gzip body is still found"
    evidence = envelope[0].evidence[0]
    assert evidence.content_coding == "gzip"
    assert evidence.response_body.startswith("{")  # the excerpt is the decoded body


@pytest.mark.slow
def test_idle_closes_happen_and_are_not_blamed() -> None:
    result, server = run_behind(Field(header_timeout=0.2, close_every=7), huawei=False)
    assert server.closed_after_answer > 0
    assert problems(result) == []
    # Whether a close crosses a request is timing; when one did, the run says what it did about it.
    assert all("none could pause a group" in n for n in result.notes if "kept-alive connection" in n)


@pytest.mark.slow
def test_bodies_in_a_coding_nobody_asked_for_are_not_judged_and_the_run_says_so() -> None:
    result, _server = run_behind(Field(unasked_coding="br"), huawei=False)
    assert problems(result) == []
    assert any("Content-Encoding 'br'" in note and "not judged" in note for note in result.notes), (
        result.notes
    )


@pytest.mark.slow
@pytest.mark.parametrize("protocol", ["HTTP/1.0", "HTTP/1.1"])
def test_a_correct_server_written_on_the_stdlib_http_server_conforms(protocol: str) -> None:
    # Not our model: a listen backlog of 5 (a burst of connects is reset by the kernel), 501 to methods it
    # has no handler for, the first of several X-Auth-Token lines, a connection per request on HTTP/1.0.
    with stdlib_server.StdlibServer(protocol=protocol) as server:
        target = parse_target(stdlib_server.target_data(server.base_url))
        options = RunOptions(seed=11, request_timeout=5.0, reruns=0, settle_timeout=1.0, effect_hold=0.0)
        result = asyncio.run(execute(target, options))
    assert problems(result) == []
    assert result.complete(CATALOGUE), result.unverified(CATALOGUE)
    assert result.conforms(CATALOGUE)
