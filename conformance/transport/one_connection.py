"""Requests one after another on one connection: what a server remembers of a connection between requests.

A run sends every request that could pause a listed group on a connection of its own (transport/h1.py), so
a server that authenticates a *connection* once and then trusts whatever comes on it - the connection-state
class PortSwigger described in 2022 as first-request validation - answers each of them correctly. Here the
requests go out in order on one new kept-alive connection, each once the answer to the one before is in,
so that a later request is judged on a connection that has carried the earlier ones.

A server may close a connection after any answer (RFC 9112 section 9.6); the requests not sent then are
returned as None, and the caller says so: such a server keeps nothing from one request to the next on a
connection, which is what is asked of it. A request that did not get a complete answer ends the sequence
too (the connection is closed). Requests are built, encoded and judged as the race's are (transport/race.py):
:meth:`Client.prepare`, :meth:`Client.wire`, :meth:`Client.result`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

import h11

from conformance.transport import h1
from conformance.transport.http import MAX_BODY, Client, HttpResult
from conformance.transport.outcome import ConnectFailed, Outcome, ReadError, classify
from conformance.transport.race import RaceRequest

_FAILURES = (TimeoutError, ConnectFailed, h11.ProtocolError, ReadError, OSError)


async def on_one_connection(
    client: Client,
    requests: Sequence[RaceRequest],
    before: Callable[[int], Awaitable[None]] | None = None,
) -> list[HttpResult | None]:
    """Send ``requests`` in order on one new connection; None for each one not sent because the
    connection ended before it (the server closed it, or an answer did not come whole). ``before(i)`` is
    awaited before request ``i`` goes out (a caller that orders requests across connections); a connection
    closed meanwhile ends the sequence there."""
    if client.in_process:
        raise ValueError("on_one_connection() needs a real socket; the client has an in-process transport")
    results: list[HttpResult | None] = []
    conn: h1.Connection | None = None
    try:
        for step in requests:
            reused = conn is not None
            if conn is not None and conn.broken:
                break  # the server closed it after the last answer
            if before is not None:
                await before(len(results))
                if conn is not None and conn.broken:
                    break  # closed while the request waited
            await client.pacer.reserve()
            request = client.prepare(step.method, step.path, step.headers, auth=step.auth, body=step.body)
            client.sent += 1
            answer, started = h1.Answer(MAX_BODY), time.perf_counter()
            outcome, detail = Outcome.ANSWERED, ""
            try:
                async with asyncio.timeout(client.request_timeout):
                    if conn is None:
                        conn = await client.connect()
                    conn.write(h1.encode(conn.h11, *client.wire(request)))
                    await conn.drain()
                    await h1.read_answer(conn, answer)
            except _FAILURES as exc:
                outcome, detail = classify(exc, status_seen=answer.status is not None)
            client.pacer.answered()
            if reused and outcome is Outcome.DROPPED:
                # Closed as the request went out, before any of an answer (RFC 9112 section 9.3.1): the
                # server had ended the connection after the last answer, so this one is not judged.
                break
            elapsed = (time.perf_counter() - started) * 1000
            results.append(client.result(request, answer, elapsed, outcome, detail))
            assert conn is not None or outcome is not Outcome.ANSWERED
            done = conn is not None and conn.h11.our_state is h11.DONE and conn.h11.their_state is h11.DONE
            if not (outcome is Outcome.ANSWERED and answer.complete and done):
                break  # a connection whose exchange did not end cleanly carries nothing more
            assert conn is not None
            conn.h11.start_next_cycle()
    finally:
        if conn is not None:
            conn.abort()
        await asyncio.sleep(0)  # let the aborted transport finish closing
    return results + [None] * (len(requests) - len(results))
