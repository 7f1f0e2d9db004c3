"""Requests released together: last-byte synchronisation over raw sockets, for races that last a millisecond.

Concurrent requests through an HTTP client reach the server over several milliseconds (each one is
written, and often connected, in turn), so a server that reads a group's status, yields, then writes it
loses the race only when that window is tens of milliseconds wide. Here every request has its own
connection, opened first; each request is then written but its final byte, and once the server has the
heads, all final bytes go out in one burst - one write per connection, no await between the writes - so
the server completes every request within a fraction of a millisecond. The spread of the releases (first
final-byte write to the last) is measured and returned, as evidence of how tight the race was.

Warming the connections, safely on a real account. A connection is warm when the TCP and TLS handshakes
are done (``open_connection`` returns only then) and the server holds the request head; what remains is
one byte. No warm-up request is sent: a request that could pause nothing (no credential, or a GET) would
still count against the gateway's throttling, and a server may close the connection after an error answer,
leaving it cold again; the prefix itself already makes the server accept the connection and parse the
head. ``TCP_NODELAY`` is set so the one-byte write leaves at once rather than waiting, under Nagle's rule,
for the prefix to be acknowledged. The race sends only the requests it is given; for the stop path those
are the concurrency check's stops of one listed group.

The answers are parsed here (HTTP/1.1: Content-Length, chunked or close-delimited bodies, capped at
``MAX_BODY`` as the client caps them) and assembled by :meth:`Client.result`, so they carry the same typed
outcome and redacted evidence as any other exchange. Bounded in time: connecting and writing the heads
within the request timeout, a pause for the heads to arrive (twice the slowest connect, 10 ms to 1 s),
then every answer within the request timeout of the release.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from conformance.transport.http import MAX_BODY, Client, HttpResult, Outcome, _wire_headers
from conformance.transport.response import Answer, ProtocolError, read_answer

SETTLE_MIN_S, SETTLE_MAX_S = 0.01, 1.0
MAX_HEAD = 64 * 1024  # the longest response head read; a longer one is a protocol error


@dataclass(frozen=True)
class RaceRequest:
    method: str
    path: str  # below the client's base URL, already encoded (stop_path)
    headers: Sequence[tuple[str, str]]
    body: bytes = b""


@dataclass
class RaceResult:
    results: list[HttpResult]  # in the order of the requests
    released: int  # requests whose final byte went out
    spread_ns: int | None  # first final-byte write to the last; None when nothing was released

    @property
    def spread_ms(self) -> float | None:
        return None if self.spread_ns is None else self.spread_ns / 1e6


@dataclass
class _Lane:
    """One request on its own connection."""

    request: RaceRequest
    wire: bytes = b""
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    failure: tuple[Outcome, str] | None = None
    started: float = field(default_factory=time.perf_counter)  # reset at the release


async def race(client: Client, requests: Sequence[RaceRequest]) -> RaceResult:
    """Send ``requests`` over fresh connections to the client's target and release them together."""
    if client.in_process:
        raise ValueError("race() needs a real socket; the client has an in-process transport")
    lanes = [_Lane(request) for request in requests]
    for lane in lanes:
        try:
            lane.wire = _encode(lane.request, client)
        except ValueError as exc:
            lane.failure = (Outcome.NOT_SENT, str(exc))
    # Paced as one block before any connection opens: waiting with half-sent requests would let the server
    # time them out (transport/pace.py says what the block means for --rate-limit).
    sent_at = await client.pacer.reserve_many(sum(lane.failure is None for lane in lanes))
    try:
        slowest = await _connect_all(client, [lane for lane in lanes if lane.failure is None])
        await asyncio.sleep(min(max(2 * slowest, SETTLE_MIN_S), SETTLE_MAX_S))
        live = [
            lane
            for lane in lanes
            if lane.failure is None and lane.writer is not None and not lane.writer.is_closing()
        ]
        spread_ns = _release(live)
        deadline = asyncio.get_running_loop().time() + client.request_timeout
        results = await asyncio.gather(*(_answer(client, lane, deadline) for lane in lanes))
    finally:
        for lane in lanes:
            if lane.writer is not None:
                lane.writer.transport.abort()  # nothing is left to send; do not wait for a TLS close
        await asyncio.sleep(0)  # let the aborted transports finish closing
    for lane, result in zip(lanes, results, strict=True):
        if result.status == 429:  # recorded, and the run slows down; the race itself is not repeated
            url = result.exchange.url
            client.pacer.throttled(lane.request.method, url, result.header("retry-after"), 1, sent_at)
        elif lane.failure is None:
            client.pacer.answered()
    return RaceResult(list(results), len(live), spread_ns)


def _release(lanes: Sequence[_Lane]) -> int | None:
    """The final byte of every request, one write each, with nothing in between that could yield."""
    if not lanes:
        return None
    first = time.perf_counter_ns()
    for lane in lanes:
        assert lane.writer is not None
        lane.writer.write(lane.wire[-1:])
    last = time.perf_counter_ns()
    released = time.perf_counter()
    for lane in lanes:
        lane.started = released
    return last - first


async def _connect_all(client: Client, lanes: Sequence[_Lane]) -> float:
    """Open every connection and write every head but its last byte; the slowest connect, in seconds."""
    parts = urlsplit(client.base_url)
    tls = parts.scheme == "https"
    host, port = parts.hostname or "", parts.port or (443 if tls else 80)

    async def connect(lane: _Lane) -> float:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(client.request_timeout):
                lane.reader, lane.writer = await asyncio.open_connection(
                    host,
                    port,
                    ssl=client.ssl_context if tls else None,
                    server_hostname=host if tls else None,
                    limit=MAX_HEAD,
                )
        except TimeoutError:
            lane.failure = (Outcome.TIMED_OUT, "")
            return 0.0
        except OSError as exc:  # refused, DNS, TLS handshake (ssl.SSLError is an OSError)
            lane.failure = (Outcome.CONNECT_FAILED, str(exc) or type(exc).__name__)
            return 0.0
        took = time.perf_counter() - started
        sock = lane.writer.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        lane.writer.write(lane.wire[:-1])
        try:
            async with asyncio.timeout(client.request_timeout):
                await lane.writer.drain()
        except TimeoutError:
            lane.failure = (Outcome.TIMED_OUT, "")
        except OSError as exc:
            lane.failure = (Outcome.DROPPED, f"{type(exc).__name__}: {exc}")
        return took

    return max(await asyncio.gather(*(connect(lane) for lane in lanes)), default=0.0)


async def _answer(client: Client, lane: _Lane, deadline: float) -> HttpResult:
    answer = Answer(MAX_BODY)
    outcome, detail = lane.failure or (Outcome.ANSWERED, "")
    if lane.failure is None:
        assert lane.reader is not None
        try:
            async with asyncio.timeout_at(deadline):
                await read_answer(lane.reader, lane.request.method, answer)
        except TimeoutError:
            outcome = Outcome.TIMED_OUT
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ProtocolError) as exc:
            outcome = Outcome.CUT_OFF if answer.status is not None else Outcome.DROPPED
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    request = lane.request
    return client.result(
        request.method,
        client.base_url + request.path,
        request.headers,
        answer.status,
        answer.headers,
        answer.body,
        answer.truncated,
        (time.perf_counter() - lane.started) * 1000,
        outcome,
        detail,
    )


def _encode(request: RaceRequest, client: Client) -> bytes:
    """The request as bytes, with the headers the HTTP client adds (Host, User-Agent, Accept, a length).

    No Accept-Encoding: the answer is judged as it comes, and an identity body is what can be read.
    """
    given = {name.lower() for name, _ in request.headers}
    defaults = [("Host", client.host), ("User-Agent", "oms-conformance"), ("Accept", "*/*")]
    if request.body or request.method in ("PUT", "POST", "PATCH"):
        defaults.append(("Content-Length", str(len(request.body))))
    headers = [(k, v) for k, v in defaults if k.lower() not in given] + list(request.headers)
    target = client.path_prefix + request.path
    if not target.isascii() or any(c.isspace() or not c.isprintable() for c in request.method + target):
        raise ValueError(f"request line {request.method} {target!r}: a character HTTP forbids")
    lines = [f"{request.method} {target} HTTP/1.1".encode("ascii")]
    for name, value in _wire_headers(headers):
        if any(c in name + value for c in (b"\r", b"\n", b"\0")) or not name or b":" in name:
            raise ValueError(f"header {name!r}: a name or value HTTP forbids")
        lines.append(name + b": " + value)
    return b"\r\n".join(lines) + b"\r\n\r\n" + request.body
