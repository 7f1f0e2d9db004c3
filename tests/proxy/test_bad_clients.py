"""A wrong client is caught with the right requirement; with enforce it never reaches the upstream."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from conformance.proxy import ProxyServer
from conformance.server.fixtures import default_fixtures
from tests.proxy.conftest import Recorder, serve_asgi

MAIN = default_fixtures().projects[0]
PROJECT = MAIN.project_id
TOKEN = MAIN.tokens[0].token
GROUP = "00000002-0000-4000-8000-000000000000"  # the main project's first monitoring group
AUTH = {"X-Auth-Token": TOKEN}

# (case, method, path, headers, requirement)
WRONG = [
    ("empty group id", "PUT", f"/v2/{PROJECT}/taskgroups//stop", AUTH, "STOP-GROUP-LEN"),
    ("missing token", "PUT", f"/v2/{PROJECT}/taskgroups/{GROUP}/stop", {}, "STOP-TOKEN-REQUIRED"),
    ("1025-char group id", "PUT", f"/v2/{PROJECT}/taskgroups/{'g' * 1025}/stop", AUTH, "STOP-GROUP-LEN"),
    ("1025-char project id", "PUT", f"/v2/{'p' * 1025}/taskgroups/{GROUP}/stop", AUTH, "STOP-PROJECT-LEN"),
    ("POST instead of PUT", "POST", f"/v2/{PROJECT}/taskgroups/{GROUP}/stop", AUTH, "STOP-METHODS"),
    (
        "16,385-char token",
        "PUT",
        f"/v2/{PROJECT}/taskgroups/{GROUP}/stop",
        {"X-Auth-Token": "t" * 16385},
        "STOP-TOKEN-LEN",
    ),
    ("the seed page's URL without /stop", "PUT", f"/v2/{PROJECT}/taskgroups/{GROUP}", AUTH, "STOP-OPERATION"),
]
IDS = [case[0] for case in WRONG]


@pytest.mark.parametrize(("case", "method", "path", "headers", "requirement"), WRONG, ids=IDS)
def test_wrong_client_is_reported(
    oms_reference_server: Any,
    oms_validating_proxy: Any,
    case: str,
    method: str,
    path: str,
    headers: dict[str, str],
    requirement: str,
) -> None:
    with httpx.Client(base_url=oms_validating_proxy.base_url, trust_env=False) as client:
        answer = client.request(method, path, headers=headers)
    assert answer.status_code >= 400  # forwarded: the reference server refused it itself
    violations = oms_validating_proxy.take_violations()
    assert [v.requirement for v in violations] == [requirement], [v.line() for v in violations]
    assert violations[0].check == "proxy-request"
    assert TOKEN not in violations[0].line() and TOKEN not in str(violations[0].exchange)
    assert oms_reference_server.app.store.status(PROJECT, GROUP) == 2  # nothing paused


def test_enforce_answers_locally_and_the_upstream_sees_nothing() -> None:
    recorder = Recorder()
    with serve_asgi(recorder) as upstream, ProxyServer(upstream, "huawei", enforce=True) as proxy:
        with httpx.Client(base_url=proxy.base_url, trust_env=False) as client:
            for case, method, path, headers, requirement in WRONG:
                answer = client.request(method, path, headers=headers)
                assert (answer.status_code, answer.json()["error_code"]) == (400, "OMS.0064"), case
                assert isinstance(answer.json()["error_msg"], str), case
                enforced = proxy.take_violations()
                assert [(v.requirement, v.enforced) for v in enforced] == [(requirement, True)], case
                assert enforced[0].failure.layer == "proxy", case  # the proxy answered, not the upstream
                assert enforced[0].failure.received in enforced[0].line(), case
            assert recorder.seen == []  # the upstream saw none of them
            ok = client.put(f"/v2/{PROJECT}/taskgroups/{GROUP}/stop", headers=AUTH)
        assert ok.status_code == 200 and len(recorder.seen) == 1  # a valid request still goes through
        assert proxy.violations == []


@pytest.mark.parametrize("oms_proxy_options", [{"enforce": True}], indirect=True)
def test_enforce_through_the_fixture_pauses_nothing(
    oms_reference_server: Any, oms_validating_proxy: Any
) -> None:
    with httpx.Client(base_url=oms_validating_proxy.base_url, trust_env=False) as client:
        for case, method, path, headers, _ in WRONG:
            assert client.request(method, path, headers=headers).status_code == 400, case
    assert len(oms_validating_proxy.take_violations()) == len(WRONG)
    assert oms_reference_server.app.store.status(PROJECT, GROUP) == 2  # still monitoring


def test_percent_encoded_slash_and_raw_path_are_forwarded_unchanged() -> None:
    recorder = Recorder()
    raw = f"/v2/{PROJECT}/taskgroups/a%2Fb%20c/stop".encode()
    with serve_asgi(recorder) as upstream, ProxyServer(upstream, "strict") as proxy:
        with httpx.Client(trust_env=False) as client:
            url = httpx.URL(proxy.base_url).copy_with(raw_path=raw + b"?x=%2F")
            assert client.put(url, headers={**AUTH, "Host": "oms.example"}).status_code == 200
        assert proxy.violations == []
    method, path, headers, _ = recorder.seen[0]
    assert (method, path) == ("PUT", raw)
    assert headers[b"host"] == b"oms.example"  # an AK/SK signature covers Host: it is kept
    assert b"user-agent" in headers and b"accept" in headers  # the client's own, forwarded


def test_bodies_stream_both_ways() -> None:
    recorder = Recorder()
    upload = b"u" * 3_000_000

    def chunks() -> Any:
        for start in range(0, len(upload), 65536):
            yield upload[start : start + 65536]

    with (
        serve_asgi(recorder) as upstream,
        ProxyServer(upstream, "strict") as proxy,
        httpx.Client(base_url=proxy.base_url, trust_env=False) as client,
    ):
        answer = client.put(f"/v2/{PROJECT}/taskgroups/{GROUP}/stop", headers=AUTH, content=chunks())
    assert recorder.seen[0][3] == len(upload)
    assert answer.status_code == 200 and len(answer.content) == len(upload)
    assert [v.requirement for v in proxy.violations] == ["STOP-SUCCESS-200"]  # 200 with a non-JSON body
