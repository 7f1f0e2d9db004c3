"""Bounded connections in ``serve`` and ``proxy``: slow or stalled clients are closed, connections are capped,
and a normal client is served meanwhile.

Both servers share the serving layer (conformance/server/connections.py), so every test runs against the
reference server and against the proxy in front of one. The limits are small here so the tests are quick;
socket timeouts only keep a broken build from hanging (they are several times the bounds, not speed targets).
"""

from __future__ import annotations

import logging
import select
import socket
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest

from conformance.proxy import ProxyServer
from conformance.server import ReferenceServer
from conformance.server.background import BackgroundServer
from conformance.server.connections import ConnectionLimits
from tests.server.conftest import MAIN, TOKEN, roomy_fixtures
from tests.server.test_server_app import gid

LIMITS = ConnectionLimits(head_timeout=2.0, idle_timeout=1.0, max_connections=1000, sweep_interval=0.05)
HANG_UP = 20.0  # far beyond every bound: only a broken build waits this long
HEAD = f"PUT /v2/{MAIN}/taskgroups/{gid('monitoring')}/stop HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {TOKEN}\r\n"


@pytest.fixture(scope="module", params=["serve", "proxy"])
def server(request: pytest.FixtureRequest) -> Iterator[BackgroundServer]:
    with ReferenceServer("huawei", roomy_fixtures(400), limits=LIMITS) as reference:
        if request.param == "serve":
            yield reference
        else:
            with ProxyServer(reference.base_url, "huawei", limits=LIMITS) as proxy:
                yield proxy


def connect(server: BackgroundServer) -> socket.socket:
    address = urlsplit(server.base_url)
    sock = socket.create_connection((address.hostname, address.port), timeout=HANG_UP)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a socket timeout fails the test)."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def normal_request(server: BackgroundServer, n: int) -> int:
    url = f"{server.base_url}/v2/{MAIN}/taskgroups/{gid('creating', n)}/stop"
    return httpx.put(url, headers={"X-Auth-Token": TOKEN}, timeout=HANG_UP).status_code


def open_connections(server: BackgroundServer) -> int:
    assert server._server is not None
    return len(server._server.server_state.connections)


def test_a_slow_headers_client_is_closed_and_others_are_served(server: BackgroundServer) -> None:
    sock = connect(server)
    answer = b""
    served = []
    assert len(HEAD) < 300  # each byte's normal request stops its own group
    with sock:
        for n, byte in enumerate(HEAD.encode()):  # one byte every 0.5 s: never idle, always incomplete
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                break
            served.append(normal_request(server, n))
            if select.select([sock], [], [], 0.5)[0]:
                answer = read_until_closed(sock)
                break
        else:
            pytest.fail("the whole head was sent one byte at a time without the server closing")
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b'"error_code": "REF.0408"' in answer and TOKEN.encode() not in answer
    assert set(served) == {200}


def test_hundreds_of_half_open_connections_are_closed_and_others_are_served(
    server: BackgroundServer, caplog: pytest.LogCaptureFixture
) -> None:
    halves = [
        b"",  # connected, nothing sent
        HEAD.encode()[:40],  # part of the head
        HEAD.encode(),  # the head without its final empty line
        f"{HEAD}Content-Length: 100\r\n\r\n".encode() + b"abc",  # a body that stops short
    ]
    socks = [connect(server) for _ in range(300)]
    try:
        for n, sock in enumerate(socks):
            sock.sendall(halves[n % len(halves)])
        assert [normal_request(server, n) for n in range(300, 305)] == [200] * 5
        with caplog.at_level(logging.WARNING):
            answers = [read_until_closed(sock) for sock in socks]
    finally:
        for sock in socks:
            sock.close()
    for n, answer in enumerate(answers):
        kind = n % len(halves)
        if kind == 0:
            assert answer == b""  # nothing of a request arrived: closed quietly
        elif kind in (1, 2):
            assert answer.startswith(b"HTTP/1.1 408 "), answer[:80]
        else:  # the stop itself was answered from its head (a token needs no body), then the stall is closed
            assert answer.startswith((b"HTTP/1.1 200 ", b"HTTP/1.1 400 ", b"HTTP/1.1 408 ")), answer[:80]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def test_a_short_body_is_answered_promptly_without_a_traceback(
    server: BackgroundServer, caplog: pytest.LogCaptureFixture
) -> None:
    # A signed request makes the reference server read the body, so it waits for the 97 missing bytes.
    head = f"PUT /v2/{MAIN}/taskgroups/g/stop HTTP/1.1\r\nHost: x\r\nAuthorization: SDK-HMAC-SHA256 x\r\n"
    with caplog.at_level(logging.WARNING), connect(server) as sock:
        sock.sendall(f"{head}Content-Length: 100\r\n\r\n".encode() + b"abc")
        answer = read_until_closed(sock)
        assert normal_request(server, 310) == 200
    assert answer.startswith(b"HTTP/1.1 408 ") or answer.startswith(b"HTTP/1.1 4"), answer[:80]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


def test_connections_are_capped_and_a_newcomer_evicts_the_longest_waiting() -> None:
    capped = ConnectionLimits(head_timeout=60.0, idle_timeout=60.0, max_connections=20, sweep_interval=0.05)
    with ReferenceServer("huawei", roomy_fixtures(400), limits=capped) as server:
        socks = [connect(server) for _ in range(60)]
        try:
            for sock in socks[:30]:
                sock.sendall(HEAD.encode()[:30])
            peak = 0
            for n in range(5):
                assert normal_request(server, 350 + n) == 200
                peak = max(peak, open_connections(server))
            evicted = _closed_of(socks[:40], enough=40 - 20)
        finally:
            for sock in socks:
                sock.close()
        assert peak <= 20
        assert len(evicted) >= 40 - 20  # the oldest waiters made room


def _closed_of(socks: list[socket.socket], enough: int) -> list[socket.socket]:
    """The sockets of ``socks`` the server hung up within HANG_UP, waited for together (the ones it rightly
    keeps open would otherwise cost HANG_UP each); done as soon as ``enough`` have been seen closed."""
    closed: list[socket.socket] = []
    deadline = time.monotonic() + HANG_UP
    while len(closed) < enough and time.monotonic() < deadline:
        readable, _, _ = select.select([s for s in socks if s not in closed], [], [], 0.1)
        for sock in readable:
            try:
                while sock.recv(65536):
                    pass
            except OSError:
                pass
            closed.append(sock)
    return closed


def test_an_endless_head_is_refused_with_431(server: BackgroundServer) -> None:
    with connect(server) as sock:
        sock.sendall(HEAD.encode() + b"X-Filler: ")
        for _ in range(18):  # 18 x 4 KiB: past the 64 KiB limit, and then nothing unread to reset the line
            sock.sendall(b"f" * 4096)
            time.sleep(0.01)  # separate reads, as a trickling client's would be
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:80]
    assert normal_request(server, 320) == 200


def request_bytes(n: int) -> bytes:
    path = f"/v2/{MAIN}/taskgroups/{gid('creating', n)}/stop"
    return f"PUT {path} HTTP/1.1\r\nHost: x\r\nX-Auth-Token: {TOKEN}\r\nContent-Length: 0\r\n\r\n".encode()


def read_answer(sock: socket.socket, pending: bytes = b"") -> tuple[int, bytes]:
    """One answer's status, and what arrived after it (a pipelined answer's start)."""
    data = pending
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed before an answer: {data[:80]!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = int(
        next(
            line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
        )
    )
    while len(rest) < length:
        rest += sock.recv(65536)
    return int(head.split(b" ")[1]), rest[length:]


def test_pipelined_requests_are_answered_in_order_on_one_connection(server: BackgroundServer) -> None:
    with connect(server) as sock:
        sock.sendall(request_bytes(330) + request_bytes(330) + request_bytes(331))
        first, rest = read_answer(sock)
        second, rest = read_answer(sock, rest)
        third, rest = read_answer(sock, rest)
        assert (first, second, third, rest) == (200, 400, 200, b"")  # the repeat finds its group paused
        sock.sendall(request_bytes(332))  # and the connection is still open for more
        assert read_answer(sock)[0] == 200


def test_an_idle_keep_alive_connection_is_closed_quietly_and_a_busy_one_is_kept() -> None:
    limits = ConnectionLimits(keep_alive=0.5, sweep_interval=0.05)
    with (
        ReferenceServer("huawei", roomy_fixtures(400), limits=limits) as server,
        connect(server) as idle,
        connect(server) as busy,
    ):
        idle.sendall(request_bytes(340))
        assert read_answer(idle)[0] == 200
        deadline = time.monotonic() + 4 * limits.keep_alive
        n = 341
        while time.monotonic() < deadline:  # a request every 0.1 s: never idle for its keep-alive
            busy.sendall(request_bytes(n))
            assert read_answer(busy)[0] == 200, "the busy connection was closed"
            n += 1
            time.sleep(0.1)
        assert idle.recv(65536) == b""  # closed, with nothing sent (the socket timeout fails a hang)
