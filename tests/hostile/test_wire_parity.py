"""The client's own connections (transport/wire.py) send the bytes httpx sent and judge answers as it did.

Every request here goes once through the client as it is and once through the same client with httpx alone
(``_wire = None``), against one loopback server that records the bytes it receives: the requests on the wire
must be identical byte for byte, and so must what the client makes of each answer (status, headers, body,
truncation, outcome, error text and the redacted evidence).
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket

import pytest

from conformance.redact import Redactor
from conformance.spec.paths import stop_path
from conformance.transport.http import MAX_BODY, Client, HttpResult, Outcome
from conformance.transport.transports import H1Transport
from tests.hostile.conftest import ENVELOPE, TOKEN, RawServer, Serve

PROJECT = "f4e146cac1de45669c3fed73dc3b9c6f"


def keep_alive(status: int = 400, body: bytes = ENVELOPE, extra: str = "") -> bytes:
    return (
        f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n{extra}Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body


ANSWERS = {
    "keep-alive": keep_alive(),
    "chunked": b'HTTP/1.1 400 X\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n3\r\n 1}\r\n0\r\n\r\n',
    "interim then final": b"HTTP/1.1 100 Continue\r\n\r\n" + keep_alive(403),
    "utf-8 header": keep_alive(extra="X-Note: caf\u00e9 \u20ac\r\n").replace(b"\xc3\xa9", "é".encode()),
    "latin-1 header": keep_alive().replace(b"Content-Type", b"X-Old: \xe9t\xe9\r\nContent-Type"),
    "close-delimited": b"HTTP/1.0 400 X\r\nContent-Type: application/json\r\n\r\n" + ENVELOPE,
    "over the cap": keep_alive(body=b"x" * (MAX_BODY + 4096)),
    "short body": keep_alive().replace(f"Content-Length: {len(ENVELOPE)}".encode(), b"Content-Length: 999"),
    "not http": b"SMTP ready\r\n\r\n",
    "echoes the token": keep_alive(body=b'{"error_code":"X","error_msg":"' + TOKEN.encode() + b'"}'),
}

REQUESTS = {
    "plain stop": ("PUT", stop_path(PROJECT, "g-1"), [("X-Auth-Token", TOKEN)], b""),
    "odd id": ("PUT", stop_path(PROJECT, "a b/\u00fc%2F?#.."), [("X-Auth-Token", TOKEN)], b""),
    "dot segment": ("PUT", stop_path(PROJECT, "."), [("X-Auth-Token", TOKEN)], b""),
    "trailing dot (httpx sends it)": ("PUT", stop_path(PROJECT, "a."), [], b""),
    "defaults overridden": (
        "PUT",
        stop_path(PROJECT, "g-2"),
        [("Accept", "application/json"), ("user-agent", "other"), ("X-Auth-Token", TOKEN)],
        b"",
    ),
    "two tokens, obs-text and UTF-8": (
        "PUT",
        stop_path(PROJECT, "g-3"),
        [("X-Auth-Token", TOKEN), ("X-Auth-Token", "a\u00a0b"), ("X-Extra", "\u00fc\u20ac")],
        b"",
    ),
    "show": ("GET", stop_path(PROJECT, "g-4", suffix=""), [("X-Auth-Token", TOKEN)], b""),
    "path parameters": ("PUT", stop_path(PROJECT, "g-7", params=(";x=1", ";jsessionid=0")), [], b""),
    "with a body": ("PUT", stop_path(PROJECT, "g-5", suffix="/start"), [("Content-Type", "a/b")], b'{"k":1}'),
    "head": ("HEAD", stop_path(PROJECT, "g-6"), [], b""),
    "newline in a value": ("PUT", stop_path(PROJECT, "g"), [("X-Auth-Token", "a\r\nX-Injected: 1")], b""),
    "leading space": ("PUT", stop_path(PROJECT, "g"), [("X-Auth-Token", " " + TOKEN)], b""),
    "empty value": ("PUT", stop_path(PROJECT, "g"), [("X-Auth-Token", "")], b""),
    "NUL in a value": ("PUT", stop_path(PROJECT, "g"), [("X-Auth-Token", "a\0b")], b""),
    "space in a name": ("PUT", stop_path(PROJECT, "g"), [("X Auth", "a")], b""),
}
# The server closes the connection after these answers (they cannot be followed by another on it).
CLOSED = ("close-delimited", "short body", "not http")
REFUSED = ("newline in a value", "leading space", "NUL in a value", "space in a name")  # h11 refuses these


def whole_request(conn: socket.socket, server: RawServer) -> bytes | None:
    """One request, head and body, recorded as the bytes it came as (however the client split its writes)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        data += chunk
    head = data.partition(b"\r\n\r\n")[0].lower()
    length = int(head.partition(b"content-length: ")[2].partition(b"\r\n")[0] or 0)
    while len(data) < len(head) + 4 + length:
        data += conn.recv(65536)
    with server.lock:
        server.received.append(data)
    return data


def serving(payload: bytes, *, close: bool = False):  # type: ignore[no-untyped-def]
    """Answer every request on a connection with ``payload``, until the client hangs up (or ``close``)."""

    def handle(conn: socket.socket, server: RawServer) -> None:
        while whole_request(conn, server) is not None:
            conn.sendall(payload)
            if close:
                return

    return handle


def comparable(result: HttpResult) -> tuple[object, ...]:
    evidence = dataclasses.replace(result.exchange, elapsed_ms=0.0)
    return (
        result.status,
        result.headers,
        result.body,
        result.truncated,
        result.outcome,
        result.error,
        evidence,
    )


async def exchange(base_url: str, own_connections: bool, requests: list[tuple]) -> list[HttpResult]:  # type: ignore[type-arg]
    client = Client(base_url, Redactor([(TOKEN, "$OMS_TOKEN")]), request_timeout=5)
    assert isinstance(client.transport, H1Transport), "a loopback http target uses our own connections"
    if not own_connections:
        client.transport = client.transport.fallback
    try:
        return [
            await client.send(method, path, headers, body=body) for method, path, headers, body in requests
        ]
    finally:
        await client.aclose()


@pytest.mark.parametrize("answer", list(ANSWERS))
def test_same_bytes_sent_and_same_judgement_as_httpx(serve: Serve, answer: str) -> None:
    server = serve(serving(ANSWERS[answer], close=answer in CLOSED))
    requests = list(REQUESTS.values())
    seen = {}
    for own in (True, False):
        server.received.clear()
        results = asyncio.run(exchange(server.base_url, own, requests))
        seen[own] = ([comparable(r) for r in results], sorted(server.received))
    assert seen[True][0] == seen[False][0]
    assert seen[True][1] == seen[False][1]
    assert len(seen[True][1]) == len(REQUESTS) - len(REFUSED), "each request HTTP allows reached the server"
    refused = [r[4] for name, r in zip(REQUESTS, seen[True][0], strict=True) if name in REFUSED]
    assert refused == [Outcome.NOT_SENT] * len(REFUSED)


def test_a_cookie_set_by_an_answer_goes_with_later_requests_as_httpx_sends_it(serve: Serve) -> None:
    server = serve(serving(keep_alive(extra="Set-Cookie: sid=abc; Path=/\r\n")))
    requests = [REQUESTS["plain stop"], REQUESTS["odd id"]]
    received = {}
    for own in (True, False):
        server.received.clear()
        asyncio.run(exchange(server.base_url, own, requests))
        received[own] = list(server.received)
    assert received[True] == received[False]
    assert b"\r\nCookie: sid=abc\r\n" in received[True][1]


def test_connections_are_kept_alive(serve: Serve) -> None:
    server = serve(serving(keep_alive()))
    asyncio.run(exchange(server.base_url, True, [REQUESTS["plain stop"]] * 20))
    assert len(server.received) == 20 and server.connections == 1


def test_own_connections_and_the_race_work_on_a_uvloop_loop(serve: Serve) -> None:
    """Users may run the library inside uvloop (uvloop.run, an old uvicorn's process-wide policy): its
    transports are no asyncio.Transport subclasses, and nothing may assume they are."""
    import uvloop

    from conformance.transport.race import RaceRequest, race

    server = serve(serving(keep_alive()))

    async def main() -> tuple[list[int | None], list[int | None]]:
        client = Client(server.base_url, Redactor([(TOKEN, "$OMS_TOKEN")]), request_timeout=5)
        try:
            sent = [await client.send(*REQUESTS["plain stop"][:3]) for _ in range(3)]
            raced = await race(client, [RaceRequest("PUT", stop_path(PROJECT, "g-9"), [])] * 3)
            return [r.status for r in sent], [r.status for r in raced.results]
        finally:
            await client.aclose()

    assert uvloop.run(main()) == ([400] * 3, [400] * 3)
