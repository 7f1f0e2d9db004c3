"""Client mistakes the HTTP layer rejects reach the report, with the contract's 400 envelope, in bounded time.

Findings reproduced here: a raw space or invalid UTF-8 in the path, a 100k-character id, a garbage request
line, a bad chunked body got a bare 400 the report never heard of; ``Content-Length: 100`` with 3 bytes
sent got no answer for 15 s, then a traceback; a non-JSON body sent as ``application/json`` was not flagged.
"""

from __future__ import annotations

import json
import logging
import socket

import pytest

from conformance.proxy import ProxyServer
from conformance.pytest_plugin import ServerPool
from conformance.server.fixtures import default_fixtures

MAIN = default_fixtures().projects[0]
TOKEN = MAIN.tokens[0].token
PROJECT = MAIN.project_id.encode()
GROUP = b"00000002-0000-4000-8000-000000000000"
HEAD = b"Host: oms.test\r\nX-Auth-Token: " + TOKEN.encode() + b"\r\n"


def stop_line(group: bytes) -> bytes:
    return b"PUT /v2/" + PROJECT + b"/taskgroups/" + group + b"/stop HTTP/1.1\r\n"


# (case, raw bytes the client sends, requirement)
REJECTED = [
    ("raw space in the path", stop_line(b"a b") + HEAD + b"\r\n", "STOP-GROUP-LEN"),
    ("invalid UTF-8 in the path", stop_line(b"a\xffb") + HEAD + b"\r\n", "STOP-GROUP-LEN"),
    ("100k-character id", stop_line(b"g" * 100_000) + HEAD + b"\r\n", "STOP-GROUP-LEN"),
    ("garbage request line", b"HELLO THERE\r\n" + HEAD + b"\r\n", "STOP-OPERATION"),
    (
        "bad chunked body",
        stop_line(GROUP) + HEAD + b"Transfer-Encoding: chunked\r\n\r\nZZ\r\nabc\r\n0\r\n\r\n",
        "STOP-OPERATION",
    ),
]


@pytest.fixture
def proxy(oms_server_pool: ServerPool) -> ProxyServer:
    """A strict reference server behind a proxy with a short body timeout: the plugin's shared ones, reset
    (no violations, counters at 0, groups at their fixtures) - as fresh as new ones, without a start and a
    stop per test."""
    server = oms_server_pool.server({"profile": "strict"})
    shared = oms_server_pool.proxy(server, {"body_timeout": 0.5})
    assert isinstance(shared, ProxyServer)
    return shared


def exchange(base_url: str, data: bytes, timeout: float = 10.0) -> bytes:
    """Send raw bytes, read until the proxy closes or a whole answer came (bounded by ``timeout``)."""
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(data)
        received = b""
        while True:
            head, _, body = received.partition(b"\r\n\r\n")
            length = next(
                (
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ),
                None,
            )
            if length is not None and len(body) >= length:
                return received
            chunk = sock.recv(65536)
            if not chunk:
                return received
            received += chunk


def status_and_body(answer: bytes) -> tuple[int, dict[str, object]]:
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body) if body else {}


@pytest.mark.parametrize(("case", "data", "requirement"), REJECTED, ids=[c[0] for c in REJECTED])
def test_http_layer_rejections_are_client_violations(
    proxy: ProxyServer, case: str, data: bytes, requirement: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    status, body = status_and_body(exchange(proxy.base_url, data))
    assert (status, body["error_code"]) == (400, "OMS.0064")
    violations = proxy.take_violations()
    assert [(v.requirement, v.side) for v in violations] == [(requirement, "client")], case
    assert proxy.app.requests == 1 and sum(proxy.app.status_counts.values()) == 1
    assert TOKEN not in repr(violations) and TOKEN not in caplog.text
    assert "Exception in ASGI application" not in caplog.text


def test_a_short_body_is_answered_promptly(proxy: ProxyServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    data = stop_line(GROUP) + HEAD + b"Content-Length: 100\r\n\r\nabc"
    status, body = status_and_body(exchange(proxy.base_url, data, timeout=5.0))  # body_timeout is 0.5 s
    assert (status, body["error_code"]) == (400, "OMS.0064")
    (violation,) = proxy.take_violations()
    assert (violation.requirement, violation.side) == ("STOP-OPERATION", "client")
    assert "3 of 100" in violation.failure.text()
    assert "Exception in ASGI application" not in caplog.text


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        (b"application/json", b"not json", ["STOP-OPERATION"]),
        (b"application/json;charset=UTF-8", b'{"a": ', ["STOP-OPERATION"]),
        (b"application/json", b"{}", []),
        (b"application/json", b"", []),
        (b"text/plain", b"not json", []),
    ],
)
def test_a_body_that_is_not_what_its_content_type_says(
    proxy: ProxyServer, content_type: bytes, body: bytes, expected: list[str]
) -> None:
    data = (
        stop_line(GROUP)
        + HEAD
        + b"Content-Type: "
        + content_type
        + b"\r\nContent-Length: %d\r\n\r\n" % len(body)
        + body
    )
    status, _ = status_and_body(exchange(proxy.base_url, data))
    assert status == 200  # forwarded: the reference server paused the group
    assert [(v.requirement, v.side) for v in proxy.take_violations()] == [(r, "client") for r in expected]
