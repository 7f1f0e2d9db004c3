"""Requests released together: last-byte synchronisation, for races that last a millisecond.

Concurrent requests through an HTTP client reach the server over several milliseconds (each one is
written, and often connected, in turn), so a server that reads a group's status, yields, then writes it
loses the race only when that window is tens of milliseconds wide. Here every request has its own
connection, opened first; each request is then written but its final byte, and once the server has the
heads, all final bytes go out in one burst - one write per connection, no await between the writes - so
the server completes every request within a fraction of a millisecond. The spread of the releases (first
final-byte write to the last) is measured and returned, as evidence of how tight the race was.

The requests are prepared by the client (:meth:`Client.prepare`: each with its own credential, an AK/SK
signature made for it alone), encoded and their answers parsed by h11 on the connections of
transport/h1.py, with the header list the client sends (:meth:`Client.wire`), and assembled by
:meth:`Client.result`, so they carry the same typed outcome, decoded body and redacted evidence as any
other exchange.

Warming the connections, safely on a real account. A connection is warm when the TCP and TLS handshakes
are done and the server holds the request head; what remains is one byte. No warm-up request is sent: it
would still count against the gateway's throttling, and a server may close the connection after an error
answer. ``TCP_NODELAY`` is set so the one-byte write leaves at once rather than waiting, under Nagle's rule,
for the prefix to be acknowledged. The race sends only the requests it is given; for the stop path those
are the concurrency check's stops of one listed group.

Servers with a short listen backlog. Connections are opened ``CONNECTS_AT_ONCE`` at a time, not all at once:
a burst of connects overruns a backlog of 5 and the kernel resets what it could not queue.

Servers that will not wait. A hardened server or a load balancer gives up on a connection whose request is
half-sent for a fraction of a second, and a server that handles one connection at a time holds the others
unread. The hold is therefore as short as it can be (long enough for the heads to arrive: twice the slowest
connect, 10 to 100 ms), and it is checked before the release: a connection the server closed or answered
while it was held (the answer is to an incomplete request) is not the server's failure but the tool's doing,
so the round is given up - nothing incomplete can have reached the application - and tried again on new
connections with the shortest hold, ``ROUNDS`` times in all. If the server still drops held connections,
the requests are sent whole on connections opened together, written back to back (a looser race, said in
the result). A connection that closes without an answer right at the release may have been closed for the
hold too: it ends as ``CLOSED_WHILE_HELD``, never as evidence against the server.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import h11

from conformance.transport import h1
from conformance.transport.auth import Auth
from conformance.transport.http import MAX_BODY, Client, HttpResult, Request
from conformance.transport.outcome import ConnectFailed, Outcome, ReadError, classify

SETTLE_MIN_S, SETTLE_MAX_S = 0.01, 0.1
ROUNDS = 3  # rounds of held requests before they are sent whole
# Connections opened at once. A burst of SYNs overruns a short listen backlog - Python's socketserver and
# http.server listen with 5 - and the kernel then sends SYN cookies and resets connections it could not
# queue: held requests the application never saw, and a race left undecided. Opening at most this many at
# a time lets such a server accept them; the release, which makes the race, is one burst all the same.
CONNECTS_AT_ONCE = 4


@dataclass(frozen=True)
class RaceRequest:
    method: str
    path: str  # below the client's base URL, already encoded (spec/paths.py)
    headers: Sequence[tuple[str, str]] = ()
    body: bytes = b""
    auth: Auth = None  # whose credential it carries (transport/auth.py)


@dataclass
class RaceResult:
    results: list[HttpResult]  # in the order of the requests
    released: int  # requests whose final byte went out
    spread_ns: int | None  # first final-byte write to the last; None when nothing was released
    held_rounds_dropped: int = 0  # rounds given up because the server closed held connections
    sent_whole: bool = False  # the server would not hold half-sent requests: they went out whole


@dataclass
class _Lane:
    """One request on its own connection."""

    request: Request
    message: tuple[bytes, bytes, list[tuple[bytes, bytes]], bytes]  # method, target, headers, body
    conn: h1.Connection | None = None
    wire: bytes = b""
    failure: tuple[Outcome, str] | None = None
    started: float = field(default_factory=time.perf_counter)  # reset when its last byte goes out
    released_ns: int = 0

    @property
    def live(self) -> bool:
        return self.failure is None and self.conn is not None


async def race(client: Client, requests: Sequence[RaceRequest]) -> RaceResult:
    """Send ``requests`` over fresh connections to the client's target and release them together."""
    if client.in_process:
        raise ValueError("race() needs a real socket; the client has an in-process transport")
    lanes = [_lane(client, request) for request in requests]
    # Paced as one block before any connection opens: waiting with half-sent requests would let the server
    # time them out (transport/pace.py says what the block means for --rate-limit).
    sent_at = await client.pacer.reserve_many(sum(lane.failure is None for lane in lanes))
    dropped_rounds, whole = 0, False
    try:
        for round_ in range(ROUNDS + 1):
            whole = round_ == ROUNDS
            slowest = await _connect_all(
                client, [lane for lane in lanes if lane.failure is None], whole=whole
            )
            if whole:
                break
            hold = min(max(2 * slowest, SETTLE_MIN_S), SETTLE_MAX_S) if round_ == 0 else SETTLE_MIN_S
            await asyncio.sleep(hold)
            if not any(lane.live and lane.conn.broken for lane in lanes):  # type: ignore[union-attr]
                break
            dropped_rounds += 1
            for lane in lanes:  # every lane anew: the survivors have been held as long
                if lane.conn is not None:
                    lane.conn.abort()
                    lane.conn = None
        live = [lane for lane in lanes if lane.live]
        if not whole:
            _release(live)
        spread_ns = (
            max(lane.released_ns for lane in live) - min(lane.released_ns for lane in live) if live else None
        )
        deadline = asyncio.get_running_loop().time() + client.request_timeout
        results = await asyncio.gather(*(_answer(client, lane, deadline, held=not whole) for lane in lanes))
    finally:
        for lane in lanes:
            if lane.conn is not None:
                lane.conn.abort()
        await asyncio.sleep(0)  # let the aborted transports finish closing
    for lane, result in zip(lanes, results, strict=True):
        if result.status == 429:  # recorded, and the run slows down; the race itself is not repeated
            url = result.exchange.url
            client.pacer.throttled(lane.request.method, url, result.header("retry-after"), 1, sent_at)
        elif lane.failure is None:
            client.pacer.answered()
    return RaceResult(list(results), len(live), spread_ns, dropped_rounds, whole)


def _lane(client: Client, raced: RaceRequest) -> _Lane:
    """A lane for ``raced``; one HTTP forbids (h11 refuses it) is never connected for."""
    request = client.prepare(raced.method, raced.path, raced.headers, auth=raced.auth, body=raced.body)
    try:
        message = client.wire(request)
        h1.encode(h11.Connection(h11.CLIENT), *message)
    except (h11.LocalProtocolError, UnicodeEncodeError) as exc:
        return _Lane(request, (b"", b"", [], b""), failure=(Outcome.NOT_SENT, str(exc)))
    return _Lane(request, message)


def _release(lanes: Sequence[_Lane]) -> None:
    """The final byte of every request, one write each, nothing in between that could yield."""
    for lane in lanes:
        assert lane.conn is not None
        lane.conn.write(lane.wire[-1:])
        lane.released_ns = time.perf_counter_ns()
    released = time.perf_counter()
    for lane in lanes:
        lane.started = released


async def _connect_all(client: Client, lanes: Sequence[_Lane], *, whole: bool) -> float:
    """Open every lane's connection and write its request but the last byte - or, ``whole``, all of it at
    once: a server that will not hold a request may not keep an idle connection either. The slowest
    connect, in seconds."""
    opening = asyncio.Semaphore(CONNECTS_AT_ONCE)

    async def open_lane(lane: _Lane) -> float:
        await opening.acquire()  # the wait for a turn is no part of the connect's timeout
        try:
            async with asyncio.timeout(client.request_timeout):
                started = time.perf_counter()  # the connect's own time: the hold is sized by it
                try:
                    lane.conn = conn = await client.connect()
                finally:
                    opening.release()
                took = time.perf_counter() - started
                sock = conn.transport.get_extra_info("socket") if conn.transport else None
                if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                lane.wire = h1.encode(conn.h11, *lane.message)
                if whole:
                    conn.write(lane.wire)
                    lane.released_ns, lane.started = time.perf_counter_ns(), time.perf_counter()
                else:
                    conn.write(lane.wire[:-1])
                    await conn.drain()
                return took
        except (TimeoutError, ConnectFailed, ReadError, OSError) as exc:
            lane.failure = classify(exc, status_seen=False)
            return 0.0

    return max(await asyncio.gather(*(open_lane(lane) for lane in lanes)), default=0.0)


async def _answer(client: Client, lane: _Lane, deadline: float, *, held: bool) -> HttpResult:
    answer = h1.Answer(MAX_BODY)
    outcome, detail = lane.failure or (Outcome.ANSWERED, "")
    if lane.live:
        assert lane.conn is not None
        try:
            async with asyncio.timeout_at(deadline):
                await h1.read_answer(lane.conn, answer)
        except (TimeoutError, h11.RemoteProtocolError, ReadError, OSError) as exc:
            outcome, detail = classify(exc, status_seen=answer.status is not None)
            if held and outcome is Outcome.DROPPED and lane.conn.h11.their_state is not h11.ERROR:
                # Closed without a word on a connection we held: perhaps for the hold, so not evidence.
                outcome = Outcome.CLOSED_WHILE_HELD
    return client.result(lane.request, answer, (time.perf_counter() - lane.started) * 1000, outcome, detail)
