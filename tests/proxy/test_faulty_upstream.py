"""A wrong upstream is caught by the run's own response oracles; secrets stay out of every line."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from conformance.proxy import ProxyServer
from tests.proxy.conftest import serve_asgi

TOKEN = "a-client-token-0123456789"
PATH = "/v2/f4e146cac1de45669c3fed73dc3b9c6f/taskgroups/g1/stop"


def answering(status: int, body: bytes, content_type: bytes = b"application/json") -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", content_type), (b"x-request-id", b"r-1")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


FAULTY = [
    (
        "400 without error_code",
        400,
        json.dumps({"error_msg": "bad"}).encode(),
        b"application/json",
        ["STOP-ERROR-ENVELOPE"],
    ),
    ("403 as text", 403, b"Forbidden", b"text/plain", ["STOP-ERROR-ENVELOPE"]),
    (
        "200 carrying an error",
        200,
        json.dumps({"error_code": "OMS.0066", "error_msg": "x"}).encode(),
        b"application/json",
        ["STOP-SUCCESS-200"],
    ),
    (
        "undocumented 404 (strict)",
        404,
        b'{"error_code": "X", "error_msg": "y"}',
        b"application/json",
        ["STOP-DOCUMENTED-STATUS"],
    ),
    (
        "echoed token",
        400,
        json.dumps({"error_code": "OMS.0064", "error_msg": f"bad token {TOKEN}"}).encode(),
        b"application/json",
        ["STOP-NO-ECHO"],
    ),
]


@pytest.mark.parametrize(("case", "status", "body", "ctype", "expected"), FAULTY, ids=[f[0] for f in FAULTY])
def test_faulty_upstream_is_reported(
    case: str, status: int, body: bytes, ctype: bytes, expected: list[str]
) -> None:
    printed: list[str] = []
    with (
        serve_asgi(answering(status, body, ctype)) as upstream,
        ProxyServer(upstream, "strict", on_violation=lambda v: printed.append(v.line())) as proxy,
    ):
        with httpx.Client(base_url=proxy.base_url, trust_env=False) as client:
            answer = client.put(PATH, headers={"X-Auth-Token": TOKEN})
        assert (answer.status_code, answer.content) == (status, body)  # forwarded as it came
        violations = proxy.take_violations()
    assert [v.requirement for v in violations] == expected
    assert all(v.check == "proxy-response" for v in violations)
    assert len(printed) == len(expected)
    for violation in violations:
        assert TOKEN not in violation.line() + violation.failure.text() + repr(violation.exchange)
    assert "$OMS_TOKEN" in violations[0].exchange.request_headers["x-auth-token"]


def test_huawei_profile_adds_its_own_answer_rules() -> None:
    body = json.dumps({"error_code": "APIGW.0301", "error_msg": "no"}).encode()  # no request_id
    with serve_asgi(answering(401, body)) as upstream, ProxyServer(upstream, "huawei") as proxy:
        httpx.put(proxy.base_url + PATH, headers={"X-Auth-Token": TOKEN}, trust_env=False)
        assert [v.requirement for v in proxy.take_violations()] == ["HW-GATEWAY-401"]


def test_unreachable_upstream_is_a_502_not_a_violation() -> None:
    with serve_asgi(answering(200, b"")) as upstream:
        pass  # stopped: nothing listens there any more
    with ProxyServer(upstream, "strict") as proxy:
        answer = httpx.put(proxy.base_url + PATH, headers={"X-Auth-Token": TOKEN}, trust_env=False)
        assert (answer.status_code, answer.json()["error_code"]) == (502, "PROXY.0502")
        assert proxy.violations == [] and proxy.app.upstream_errors == 1
