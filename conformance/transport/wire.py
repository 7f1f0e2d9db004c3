"""HTTP/1.1 keep-alive connections to one origin, for the client's hot path: httpcore's job, unlayered.

Why it exists: a deep fuzz run sends tens of thousands of small requests, and through httpx each cost ~4 ms
of CPU - the URL re-parsed and re-quoted a character at a time (generated ids, percent-encoded, run to
kilobytes), anyio and httpcore wrapping every read, a cookie jar consulted - so the run measured our client,
not the target. This module does what httpcore does for one origin over HTTP/1.1, with the same parts:

- h11 turns the request into bytes and refuses what it refuses (the client reports that as *not sent*),
  and parses the answer (what it calls a protocol error is the client's cut-off or dropped exchange);
- the header list is the one httpx builds (:meth:`Client.send` asks httpx for it), so the server receives
  the same bytes;
- connections are kept alive as httpcore keeps them: at most ``MAX_CONNECTIONS`` in use, ``MAX_IDLE`` idle,
  none reused after ``KEEPALIVE_S`` idle or once the server closed it or sent something unasked; a connection
  whose answer was not read to its end (cut at the body cap, timed out) is closed, never reused.

The client uses it only where that is equivalent (transport/http.py: a socket target, no proxy, no cookies);
everything else still goes through httpx.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from ssl import SSLContext

import h11

from conformance.transport.response import Answer, header_encoding

# httpcore's values (httpx.Limits as transport/http.py configures it, and httpcore's HTTP/1.1 connection).
MAX_CONNECTIONS = 32
MAX_IDLE = 16
KEEPALIVE_S = 5.0
MAX_INCOMPLETE_EVENT_SIZE = 100 * 1024


class ConnectFailed(Exception):
    """No connection could be made (refused, DNS, TLS handshake); the message is the OS's."""


class ReadError(Exception):
    """The connection broke while the answer was read (httpx's name for it, so reports read alike)."""


class _Connection(asyncio.Protocol):
    """One socket: bytes in arrive in a buffer the request reads from; nothing is read ahead of it."""

    def __init__(self) -> None:
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_INCOMPLETE_EVENT_SIZE)
        self.transport: asyncio.Transport | None = None
        self.idle_since = 0.0
        self._data: deque[bytes] = deque()
        self._closed = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._data.append(data)
        self._wake()

    def eof_received(self) -> bool:
        self._closed = True
        self._wake()
        return False  # close the transport: nothing is sent after the peer stopped

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._error = exc
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def read(self) -> bytes:
        """The next bytes from the server; b"" once it closed. A reset raises ReadError."""
        while not self._data and not self._closed:
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        if self._data:
            return self._data.popleft()
        if self._error is not None:
            raise ReadError(str(self._error)) from self._error
        return b""

    def reusable(self, now: float) -> bool:
        """httpcore's test before reusing: not closed, nothing unasked waiting, not idle too long."""
        assert self.transport is not None
        return (
            not self._closed
            and not self._data
            and not self.transport.is_closing()
            and now - self.idle_since < KEEPALIVE_S
        )

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class Origin:
    """Keep-alive connections to ``host``:``port`` (TLS with ``ssl_context``), one request at a time each."""

    def __init__(self, host: str, port: int, ssl_context: SSLContext | None) -> None:
        self.host, self.port, self.ssl_context = host, port, ssl_context
        self._idle: deque[_Connection] = deque()
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)

    async def request(
        self, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes, reply: Answer
    ) -> None:
        """Send one request and read its answer into ``reply``.

        Raises ConnectFailed, h11.LocalProtocolError (h11 refused the request), h11.RemoteProtocolError
        or ReadError (the exchange broke); a cancellation (the caller's deadline) closes the connection.
        """
        async with self._slots:
            conn = await self._connection()
            done = False
            try:
                conn.transport.write(_serialise(conn.h11, method, target, headers, body))  # type: ignore[union-attr]
                done = await _read_reply(conn, reply)
            finally:
                if done and conn.h11.our_state is h11.DONE and conn.h11.their_state is h11.DONE:
                    conn.h11.start_next_cycle()
                    self._keep(conn)
                else:
                    conn.close()

    async def _connection(self) -> _Connection:
        now = time.monotonic()
        while self._idle:
            conn = self._idle.pop()
            if conn.reusable(now):
                return conn
            conn.close()
        loop = asyncio.get_running_loop()
        tls = self.ssl_context is not None
        try:
            _transport, conn = await loop.create_connection(
                _Connection,
                self.host,
                self.port,
                ssl=self.ssl_context,
                server_hostname=self.host if tls else None,
            )
        except OSError as exc:  # refused, DNS, TLS handshake (ssl.SSLError is an OSError)
            raise ConnectFailed(str(exc) or type(exc).__name__) from exc
        return conn

    def _keep(self, conn: _Connection) -> None:
        conn.idle_since = time.monotonic()
        self._idle.append(conn)
        while len(self._idle) > MAX_IDLE:
            self._idle.popleft().close()

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()


def _serialise(
    conn: h11.Connection, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes
) -> bytes:
    """The request's bytes as httpcore has h11 write them; h11 raises LocalProtocolError on a refusal."""
    out = conn.send(h11.Request(method=method, target=target, headers=headers)) or b""
    if body:
        out += conn.send(h11.Data(data=body)) or b""
    return out + (conn.send(h11.EndOfMessage()) or b"")


async def _next_event(conn: _Connection) -> object:
    while True:
        event = conn.h11.next_event()
        if event is not h11.NEED_DATA:
            return event
        data = await conn.read()
        if data == b"" and conn.h11.their_state is h11.SEND_RESPONSE:
            raise h11.RemoteProtocolError("Server disconnected without sending a response.")
        conn.h11.receive_data(data)


async def _read_reply(conn: _Connection, reply: Answer) -> bool:
    """Read the answer into ``reply``; True when it was read to its end (the connection may be reused)."""
    while True:
        event = await _next_event(conn)
        if isinstance(event, h11.ConnectionClosed):
            raise h11.RemoteProtocolError("Server disconnected without sending a response.")
        if isinstance(event, h11.Response):
            break
        if isinstance(event, h11.InformationalResponse) and event.status_code == 101:
            break  # as httpcore: a protocol switch ends the exchange's head
    reply.status = event.status_code
    raw = list(event.headers)  # names lower-cased, as httpx's Headers.multi_items gives them
    encoding = header_encoding(raw)
    reply.headers = [(name.decode(encoding), value.decode(encoding)) for name, value in raw]
    while True:
        event = await _next_event(conn)
        if isinstance(event, h11.Data):
            if not reply.take(bytes(event.data)):
                return False  # cut at the cap: the rest is never read, so the connection is not reused
        elif isinstance(event, h11.EndOfMessage) or event is h11.PAUSED:
            return True
        elif isinstance(event, h11.ConnectionClosed):
            raise h11.RemoteProtocolError("peer closed connection without sending complete message body")
