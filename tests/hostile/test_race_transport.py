"""The race transport against raw loopback servers: every request arrives whole, its head first and its final
byte later; answers in every HTTP/1.1 framing parse as the client's do; every way an exchange can fail ends
in its typed outcome within the deadline; TLS trusts what the client trusts; secrets stay out of the evidence.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from conformance.redact import Redactor
from conformance.spec.paths import stop_path
from conformance.transport import race as race_module
from conformance.transport.http import MAX_BODY, Client, HttpResult, Outcome
from conformance.transport.race import RaceRequest, RaceResult, race
from tests.hostile.conftest import PROJECT, TOKEN, RawServer, Serve, answer, read_request, response

PATH = stop_path(PROJECT, "group-1")
STOP = RaceRequest("PUT", PATH, [("X-Auth-Token", TOKEN)])


def run_race(
    base_url: str, requests: list[RaceRequest], *, timeout: float = 2.0, verify: bool | str = True
) -> RaceResult:
    async def main() -> RaceResult:
        client = Client(base_url, Redactor([(TOKEN, "$OMS_TOKEN")]), request_timeout=timeout, verify=verify)
        try:
            return await race(client, requests)
        finally:
            await client.aclose()

    return asyncio.run(main())


class TickingClock:
    """The ``time`` module, but ``perf_counter_ns`` advances exactly TICK_NS a reading."""

    TICK_NS = 1000

    def __init__(self) -> None:
        self.readings = 0

    def perf_counter_ns(self) -> int:
        self.readings += 1
        return self.readings * self.TICK_NS

    def __getattr__(self, name: str) -> object:
        return getattr(time, name)


def only(result: RaceResult) -> HttpResult:
    (one,) = result.results
    return one


def test_each_request_arrives_whole_its_head_first_and_the_final_byte_at_the_release(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A longer hold than the 10 ms a loopback race uses: the server's threads must read each head before the
    # release even on a busy machine, or they would read head and final byte at once.
    monkeypatch.setattr(race_module, "SETTLE_MIN_S", 0.3)
    monkeypatch.setattr(race_module, "SETTLE_MAX_S", 0.3)
    clock = TickingClock()
    monkeypatch.setattr(race_module, "time", clock)
    stages: list[tuple[bytes, bytes]] = []

    def handle(conn: socket.socket, server: RawServer) -> None:
        data = b""
        while not data.endswith(b"\r\n\r") and b"\r\n\r\n" not in data:
            data += conn.recv(65536)
        head = data
        while not data.endswith(b"\r\n\r\n"):
            data += conn.recv(65536)
        with server.lock:
            stages.append((head, data))
        conn.sendall(response(400))

    server = serve(handle)
    result = run_race(server.base_url, [STOP] * 5)
    assert [r.status for r in result.results] == [400] * 5
    # One clock reading per final-byte write, and the spread from the first write to the last: five releases
    # on a clock that ticks 1 us a reading are 4 us apart.
    assert result.released == 5 and clock.readings == 5 and result.spread_ns == 4 * TickingClock.TICK_NS
    assert len(stages) == 5
    for head, whole in stages:
        assert head == whole[:-1]  # the server held all but the last byte before the release
        assert whole.startswith(f"PUT {PATH} HTTP/1.1\r\n".encode())
        assert f"X-Auth-Token: {TOKEN}\r\n".encode() in whole
        assert b"Host: 127.0.0.1:" in whole and b"Content-Length: 0\r\n" in whole


CHUNKED = (
    b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5;ext=1\r\n" + b'{"err' + b"\r\n" + b"1C\r\n" + b'or_code":"OMS.0066","x":"y"}' + b"\r\n"
    b"0\r\nX-Trailer: t\r\n\r\n"
)
CHUNKED_BODY = b'{"error_code":"OMS.0066","x":"y"}'
UNTIL_CLOSE = b'HTTP/1.1 400 X\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{"a":1}'
INTERIM = b"HTTP/1.1 100 Continue\r\n\r\n" + response(200, b"")
FOLDED = b"HTTP/1.1 400 X\r\nX-Folded: one\r\n  two\r\nX-Name: caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n"


@pytest.mark.parametrize(
    ("payload", "status", "body"),
    [
        (response(400), 400, b'{"error_code":"OMS.0001","error_msg":"bad request"}'),
        (CHUNKED, 400, CHUNKED_BODY),
        (UNTIL_CLOSE, 400, b'{"a":1}'),
        (INTERIM, 200, b""),
        (response(204, b"", length=0), 204, b""),
    ],
    ids=["content-length", "chunked", "until-close", "100-continue", "204"],
)
def test_answers_in_every_framing_parse_like_the_clients(
    serve: Serve, payload: bytes, status: int, body: bytes
) -> None:
    server = serve(answer(payload))
    raced = only(run_race(server.base_url, [STOP]))
    assert raced.outcome is Outcome.ANSWERED, raced.error
    assert (raced.status, raced.body, raced.truncated) == (status, body, False)
    assert all(name == name.lower() for name, _ in raced.headers)


def test_header_fields_are_decoded_as_httpx_decodes_them(serve: Serve) -> None:
    server = serve(answer(FOLDED))
    raced = only(run_race(server.base_url, [STOP]))
    assert raced.header("x-folded") == "one two"
    assert raced.header("x-name") == "café"  # not ASCII, valid UTF-8: decoded as UTF-8, as httpx does


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_beyond_max_body_is_cut_at_it_and_marked_truncated(serve: Serve, chunked: bool) -> None:
    big = b"x" * (MAX_BODY * 3)
    if chunked:
        payload = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        payload += b"".join(
            b"%x\r\n%s\r\n" % (len(big[i : i + 50000]), big[i : i + 50000]) for i in range(0, len(big), 50000)
        )
        payload += b"0\r\n\r\n"
    else:
        payload = response(200, big)
    server = serve(answer(payload))
    raced = only(run_race(server.base_url, [STOP]))
    assert raced.outcome is Outcome.ANSWERED
    assert raced.truncated and raced.body == big[:MAX_BODY]
    assert raced.exchange.body_truncated


def _cut_off(conn: socket.socket, server: RawServer) -> None:
    if read_request(conn, server) is not None:
        conn.sendall(response(200, b"0123456789", length=100))


def _no_answer(conn: socket.socket, server: RawServer) -> None:
    read_request(conn, server)


def _silent(conn: socket.socket, server: RawServer) -> None:
    read_request(conn, server)
    server.stopped.wait(5)


@pytest.mark.parametrize(
    ("handler", "outcome", "status"),
    [
        (_cut_off, Outcome.CUT_OFF, 200),
        # Closed without a word on a connection the race held: it may have been closed for the hold, so it
        # is never evidence against the server (a server sending garbage still is: "not-http").
        (_no_answer, Outcome.CLOSED_WHILE_HELD, None),
        (answer(b"SMTP ready\r\n\r\n"), Outcome.DROPPED, None),
        (answer(b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n"), Outcome.DROPPED, None),
        (answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x1\r\n"), Outcome.CUT_OFF, 200),
        (_silent, Outcome.TIMED_OUT, None),
    ],
    ids=["cut-off", "dropped", "not-http", "bad-length", "bad-chunk", "silent"],
)
def test_a_failed_exchange_ends_in_its_typed_outcome(
    serve: Serve, handler: Callable[[socket.socket, RawServer], None], outcome: Outcome, status: int | None
) -> None:
    server = serve(handler)
    raced = only(run_race(server.base_url, [STOP], timeout=0.5))
    assert (raced.outcome, raced.status) == (outcome, status), raced.error
    assert raced.error and raced.exchange.outcome == outcome.value


def test_a_closed_port_is_a_failed_connection() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        raced = run_race(f"http://127.0.0.1:{port}", [STOP, STOP])
    assert [r.outcome for r in raced.results] == [Outcome.CONNECT_FAILED] * 2
    assert raced.released == 0 and raced.spread_ns is None


def test_a_request_http_forbids_is_not_sent_and_the_others_still_race(serve: Serve) -> None:
    server = serve(answer(response(400)))
    bad = RaceRequest("PUT", PATH, [("X-Auth-Token", TOKEN), ("X-Note", "a\r\nX-Injected: 1")])
    raced = run_race(server.base_url, [STOP, bad, STOP])
    assert [r.outcome for r in raced.results] == [Outcome.ANSWERED, Outcome.NOT_SENT, Outcome.ANSWERED]
    assert raced.released == 2 and len(server.received) == 2
    assert not any(b"X-Injected" in request for request in server.received)


def test_the_evidence_is_redacted_like_the_clients(serve: Serve) -> None:
    echo = f'{{"error_code":"OMS.0003","error_msg":"token {TOKEN} is invalid"}}'.encode()
    server = serve(answer(response(403, echo)))
    raced = only(run_race(server.base_url, [STOP]))
    assert TOKEN.encode() in raced.body  # the oracles judge the answer as it came...
    assert TOKEN not in repr(raced.exchange)  # ...the evidence never shows the secret
    assert '"X-Auth-Token: $OMS_TOKEN"' in raced.exchange.curl
    assert raced.exchange.url == server.base_url + PATH


@pytest.fixture
def tls_server(serve: Serve, self_signed: tuple[Path, Path]) -> RawServer:
    cert, key = self_signed
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server: RawServer = serve(answer(response(400)), tls=context)
    return server


def test_tls_uses_the_clients_ca_bundle(tls_server: RawServer, self_signed: tuple[Path, Path]) -> None:
    cert, _ = self_signed
    raced = run_race(tls_server.base_url, [STOP] * 3, verify=str(cert))
    assert [r.status for r in raced.results] == [400] * 3
    assert len(tls_server.received) == 3


def test_tls_refuses_an_untrusted_certificate_before_sending_anything(tls_server: RawServer) -> None:
    raced = only(run_race(tls_server.base_url, [STOP]))
    assert raced.outcome is Outcome.CONNECT_FAILED
    assert "certificate" in (raced.error or "").lower()
    assert tls_server.received == []


def test_insecure_tls_is_the_clients_insecure(tls_server: RawServer) -> None:
    raced = only(run_race(tls_server.base_url, [STOP], verify=False))
    assert raced.status == 400


TIMEOUT_408 = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


def _impatient(*, answer_408: bool = False) -> Callable[[socket.socket, RawServer], None]:
    """A hardened server with no patience at all: a connection whose first read is not a whole request head
    is closed (after a 408, with ``answer_408``); a whole one is answered."""

    def handle(conn: socket.socket, server: RawServer) -> None:
        data = conn.recv(65536)
        if b"\r\n\r\n" not in data:
            if answer_408:
                conn.sendall(
                    b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
                )
            with server.lock:
                server.closed_half_sent += 1
            return
        with server.lock:
            server.received.append(data)
        conn.sendall(response(400))

    return handle


@pytest.mark.parametrize("answer_408", [False, True], ids=["silent close", "408 then close"])
def test_a_server_that_drops_held_requests_is_raced_again_then_sent_whole_and_never_blamed(
    serve: Serve, answer_408: bool
) -> None:
    server = serve(_impatient(answer_408=answer_408))
    raced = run_race(server.base_url, [STOP] * 4)
    assert [r.status for r in raced.results] == [400] * 4
    assert [r.outcome for r in raced.results] == [Outcome.ANSWERED] * 4
    assert len(server.received) == 4, "each request reached the application exactly once, whole"
    # The server reads each held head at once (unless its thread starts only after the release, then it
    # reads whole requests), so every held round is dropped and the requests go out whole in the end.
    if server.closed_half_sent:
        assert raced.held_rounds_dropped >= 1
    if raced.held_rounds_dropped == 3:
        assert raced.sent_whole
