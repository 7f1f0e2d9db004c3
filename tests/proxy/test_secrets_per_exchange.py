"""Echoes are judged per exchange and redaction cannot be exhausted.

Findings reproduced here: one request with the token ``e`` made every later answer containing an "e" a
server violation; after 1,000 distinct tokens the next one reached ``conformance.json`` in clear.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from conformance.proxy import ProxyServer, proxy_run_result
from conformance.reports import ALL_FORMATS, write_reports
from conformance.server import ReferenceServer
from tests.proxy.conftest import serve_asgi

PROJECT = "f4e146cac1de45669c3fed73dc3b9c6f"
PATH = f"/v2/{PROJECT}/taskgroups/g1/stop"


def mirroring(forms: dict[str, Any]) -> Any:
    """An upstream that answers 400 with the request's token in the error message, in a chosen form."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await receive()
        token = dict(scope["headers"]).get(b"x-auth-token", b"").decode()
        # Written by hand, not with json.dumps: the test chooses the form the token takes in the body.
        body = '{"error_code": "OMS.0064", "error_msg": "token ' + forms["encode"](token) + '"}'
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [(b"content-type", b"application/json"), (b"x-request-id", b"r")],
            }
        )
        await send({"type": "http.response.body", "body": body.encode()})

    return app


def test_a_one_letter_token_blames_no_later_answer() -> None:
    # Every answer of this upstream contains many "e"s; only the request carrying "e" could be blamed.
    with (
        serve_asgi(mirroring({"encode": lambda token: "the request is refused"})) as upstream,
        ProxyServer(upstream, "strict") as proxy,
        httpx.Client(base_url=proxy.base_url, trust_env=False) as client,
    ):
        client.put(PATH, headers={"X-Auth-Token": "e"})
        for _ in range(3):
            client.put(PATH, headers={"X-Auth-Token": "a-long-valid-looking-token-0001"})
        violations = proxy.take_violations()
    assert [v.requirement for v in violations if v.check == "proxy-response"] == []


@pytest.mark.parametrize(
    "encode",
    [
        lambda token: token,
        lambda token: quote(token, safe=""),
        lambda token: json.dumps(token)[1:-1].replace("/", "\\/"),
    ],
    ids=["plain", "percent-encoded", "json-escaped"],
)
def test_a_long_token_echoed_by_its_own_answer_is_caught_in_any_encoding(encode: Any) -> None:
    token = "tok/with+odd=chars-0123456789"
    with (
        serve_asgi(mirroring({"encode": encode})) as upstream,
        ProxyServer(upstream, "strict") as proxy,
        httpx.Client(base_url=proxy.base_url, trust_env=False) as client,
    ):
        client.put(PATH, headers={"X-Auth-Token": "another-token-that-is-long-enough"})
        first = proxy.take_violations()
        client.put(PATH, headers={"X-Auth-Token": token})
        second = proxy.take_violations()
    assert [v.requirement for v in first] == ["STOP-NO-ECHO"]  # its own token, echoed
    assert [v.requirement for v in second] == ["STOP-NO-ECHO"]
    for violation in second:
        text = violation.failure.text() + repr(violation.exchange)
        assert token not in text and encode(token) not in text


def test_the_first_hundred_characters_of_a_long_token_are_an_echo_and_are_redacted() -> None:
    """aiohttp's 400 to a too-long line repeats its first 100 characters: a partial echo is a leak."""
    token = "".join(f"{n:04x}Zq" for n in range(2000))  # 12,000 characters, no 16-run repeats
    with (
        serve_asgi(mirroring({"encode": lambda sent: sent[:100]})) as upstream,
        ProxyServer(upstream, "strict") as proxy,
        httpx.Client(base_url=proxy.base_url, trust_env=False) as client,
    ):
        client.put(PATH, headers={"X-Auth-Token": token})
        violations = proxy.take_violations()
    assert [v.requirement for v in violations] == ["STOP-NO-ECHO"]
    text = violations[0].failure.text() + repr(violations[0].exchange)
    assert token[:16] not in text and token[40:56] not in text and "$OMS_TOKEN" in text


def test_a_credential_header_is_redacted_whatever_its_value() -> None:
    with ReferenceServer() as server, ProxyServer(server.base_url) as proxy:
        httpx.put(proxy.base_url + f"/v2/{PROJECT}/taskgroups//stop", headers={"X-Auth-Token": "ab"})
        (violation,) = proxy.take_violations()
    assert violation.exchange.request_headers["x-auth-token"] == "$OMS_TOKEN"


def test_1001_distinct_tokens_none_in_any_report(tmp_path: Path) -> None:
    tokens = [f"distinct-token-{n:05d}-{'x' * 8}" for n in range(1001)]
    with (
        ReferenceServer() as server,
        ProxyServer(server.base_url) as proxy,
        httpx.Client(base_url=proxy.base_url, trust_env=False) as client,
    ):
        for token in tokens:
            # An empty group id: a client violation, so every exchange is kept as evidence - with the token
            # in its URL too (as the project id), where only the value tells it is a secret.
            client.put(f"/v2/{token}/taskgroups//stop", headers={"X-Auth-Token": token})
        run = proxy_run_result(proxy.app)
        written = write_reports(run, tmp_path, ALL_FORMATS, secrets=proxy.app.secrets())
        kept = len(proxy.violations)
    assert kept == len(tokens)
    texts = [path.read_text() for path in written]
    leaked = [token for token in tokens if any(token in text for text in texts)]
    assert leaked == []
