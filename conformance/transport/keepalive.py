"""Keep-alive connections for :meth:`Client.send`, on the connection type, encoder and answer reader of
:mod:`conformance.transport.h1`.

Connections as RFC 9112 §9 has them. A server may close an idle persistent connection at any moment - load
balancers after a second or a minute, hardened servers after a short header timeout, nginx after
``keepalive_requests`` answers - and the close can cross a request already on its way. So:

- a connection is reused only while it is open, has nothing unasked waiting (an early 408) and has been idle
  less than ``KEEPALIVE_S``;
- a request whose kept-alive connection turns out closed before any byte of an answer came is sent again,
  once, on a new connection - the close was an idle close, not an answer - but only a request the caller
  marks ``replay_safe``. A request that could pause a listed group never travels on a reused connection at
  all: on a new connection nothing but the server can have closed it, so its fate is never a guess. Its
  connection may have been opened just ahead of it, never used, while such requests come one after another
  (transport/ahead.py, which says why that loses nothing).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from ssl import SSLContext

import h11

from conformance.transport.ahead import Ahead
from conformance.transport.h1 import Answer, Connection, connect, encode_parts, read_answer, write_request
from conformance.transport.outcome import ReadError
from conformance.transport.proxies import Proxy

# httpcore's values (httpx.Limits as transport/http.py configures it, and httpcore's HTTP/1.1 connection).
MAX_CONNECTIONS = 32
MAX_IDLE = 16
KEEPALIVE_S = 5.0


class Pool:
    """Keep-alive connections to ``host``:``port`` (TLS with ``ssl_context``), one request at a time each."""

    def __init__(
        self, host: str, port: int, ssl_context: SSLContext | None, proxy: Proxy | None = None
    ) -> None:
        self.host, self.port, self.ssl_context, self.proxy = host, port, ssl_context, proxy
        self.reopened = 0  # requests sent again after an idle close crossed them (a run note)
        self._idle: deque[Connection] = deque()
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)
        self.ahead = Ahead(self._connect, self._drop)  # new connections for requests that may not be repeated

    async def request(
        self,
        method: bytes,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        reply: Answer,
        *,
        replay_safe: bool = True,
    ) -> None:
        """Send one request and read its answer into ``reply``.

        Raises ConnectFailed, h11.LocalProtocolError (h11 refused the request), h11.RemoteProtocolError or
        ReadError (the exchange broke); a cancellation (the caller's deadline) closes the connection.
        """
        async with self._slots:
            conn = await self._connection(reuse=replay_safe)
            try:
                await self._exchange(conn, method, target, headers, body, reply)
            except (h11.RemoteProtocolError, ReadError):
                if not (conn.served and reply.status is None and conn.h11.their_state is not h11.ERROR):
                    raise
                # The server closed the kept-alive connection as the request went out (RFC 9112 §9.3.1):
                # nothing of an answer came, and the request is one that may be sent again.
                self.reopened += 1
                conn = await self._connect()
                await self._exchange(conn, method, target, headers, body, reply)

    async def _exchange(
        self,
        conn: Connection,
        method: bytes,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        reply: Answer,
    ) -> None:
        done = False
        began = time.monotonic()
        try:
            reply.written = await write_request(conn, *encode_parts(conn.h11, method, target, headers, body))
            await read_answer(conn, reply)
            done = reply.complete
            self.ahead.answered(time.monotonic() - began)
        finally:
            if done and conn.h11.our_state is h11.DONE and conn.h11.their_state is h11.DONE:
                conn.h11.start_next_cycle()
                conn.served += 1
                self._keep(conn)
            else:
                self._drop(conn)

    async def _connection(self, *, reuse: bool) -> Connection:
        if not reuse:
            conn = self.ahead.take() or await self._connect()
            self.ahead.opened()  # the next such request's, while this one is under way
            return conn
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if not conn.broken and now - conn.idle_since < KEEPALIVE_S:
                return conn
            self._drop(conn)
        return await self._connect()

    async def _connect(self) -> Connection:
        return await connect(self.host, self.port, self.ssl_context, self.proxy)

    def _keep(self, conn: Connection) -> None:
        conn.idle_since = time.monotonic()
        self._idle.append(conn)
        while len(self._idle) > MAX_IDLE:
            self._drop(self._idle.popleft())

    def close(self) -> None:
        self.ahead.close()
        while self._idle:
            self._drop(self._idle.pop())

    def _drop(self, conn: Connection) -> None:
        """A connection done with. TLS ones are dropped, not closed: a close_notify exchange can outlive
        the event loop (a run that ends at once, a server that keeps connections alive as nginx does),
        leaving the socket under it open; the answer was read to its end or is given up either way."""
        if self.ssl_context is not None:
            conn.abort()
        else:
            conn.close()
