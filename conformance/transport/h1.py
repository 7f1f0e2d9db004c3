"""HTTP/1.1 on asyncio sockets through h11: the one place where the client's requests meet a socket.

Two users, one connection type (:class:`Connection`), one request encoder and one answer reader, so that a
reset or a strange framing reads the same wherever it happens:

- :class:`Pool` - keep-alive connections for :meth:`Client.send` (transport/http.py). It exists because a
  deep fuzz run sends tens of thousands of small requests, and through httpx each cost ~4 ms of CPU (the URL
  re-parsed and re-quoted a character at a time, anyio and httpcore layers, a cookie jar); here it is about
  a quarter of that (tests/benchmarks/bench_client.py measures both).
- the race (transport/race.py), which writes a request but its final byte and holds it there.

h11 turns each request into bytes - refusing what HTTP forbids, which the client reports as *not sent* - and
parses each answer: interim 1xx answers skipped, Content-Length, chunked and close-delimited bodies, HTTP/1.0
servers and ``Connection: close``. At most ``cap`` bytes of a body are kept (:class:`Answer`); its content
coding is undone later, in one place for every path (transport/codings.py, from :meth:`Client.result`).

Connections as RFC 9112 §9 has them. A server may close an idle persistent connection at any moment - load
balancers after a second or a minute, hardened servers after a short header timeout, nginx after
``keepalive_requests`` answers - and the close can cross a request already on its way. So:

- a connection is reused only while it is open, has nothing unasked waiting (an early 408) and has been idle
  less than ``KEEPALIVE_S``;
- a request whose kept-alive connection turns out closed before any byte of an answer came is sent again,
  once, on a new connection - the close was an idle close, not an answer - but only a request the caller
  marks ``replay_safe``. A request that could pause a listed group never travels on a reused connection at
  all: on a new connection nothing but the server can have closed it, so its fate is never a guess.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from ssl import SSLContext
from typing import cast
from urllib.parse import urlsplit

import h11

from conformance.transport.outcome import ConnectFailed, ReadError
from conformance.transport.proxies import Proxy

# httpcore's values (httpx.Limits as transport/http.py configures it, and httpcore's HTTP/1.1 connection).
MAX_CONNECTIONS = 32
MAX_IDLE = 16
KEEPALIVE_S = 5.0
MAX_INCOMPLETE_EVENT_SIZE = 100 * 1024  # the longest answer head read: a longer one is a protocol error
# A request head longer than this is written as a network can deliver it: all but its last HELD_BYTES, then,
# HOLD_S later, the rest. Servers bound the part of a head that may arrive before its end - uvicorn's h11
# refuses a legal 16,384-character token with its own 400 once more than 16 KiB of an unfinished head is
# buffered - and in one loopback write the head arrives whole, so such a limit would act only by the chance
# of where the network cuts segments. Held back, it acts every time. 8 KiB: no limit on a whole head or line
# in use is smaller than 4 KiB, and heads this long come only from the long-value probes (token and id
# lengths, fuzz's boundary cases), so ordinary requests go in one write and cost nothing.
HOLD_ABOVE = 8 * 1024
HELD_BYTES = 16
HOLD_S = 0.02
_DISCONNECTED = "Server disconnected without sending a response."


@dataclass
class Answer:
    """What came back so far: a failed exchange still shows the status and headers that came."""

    cap: int
    status: int | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0
    truncated: bool = False
    complete: bool = False  # the body was read to its end
    written: str = ""  # how the request went out, when not in one write (evidence: Exchange.written)

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def take(self, data: bytes) -> bool:
        """Keep ``data``; False once more than ``cap`` bytes came (then reading stops)."""
        self.chunks.append(data)
        self.size += len(data)
        if self.size > self.cap:
            self.truncated = True
        return not self.truncated


class Connection(asyncio.Protocol):
    """One socket and its h11 state: bytes in wait in a buffer the reader takes from; none are read ahead."""

    def __init__(self) -> None:
        self.h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_INCOMPLETE_EVENT_SIZE)
        self.transport: asyncio.Transport | None = None
        self.idle_since = 0.0
        self.served = 0  # answers read on it: a connection that served one is a kept-alive one
        self._data: deque[bytes] = deque()
        self._closed = False
        self._error: BaseException | None = None
        self._readable: asyncio.Future[None] | None = None
        self._writable: asyncio.Future[None] | None = None

    # -- asyncio.Protocol -------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A cast, not an isinstance check: uvloop's transports are not asyncio.Transport subclasses.
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._data.append(data)
        self._wake_reader()

    def eof_received(self) -> bool:
        self._closed = True
        self._wake_reader()
        return False  # close our side too: nothing is sent after the peer stopped

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._error = exc
        self._wake_reader()
        self.resume_writing()

    def pause_writing(self) -> None:
        if self._writable is None:
            self._writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._writable = None

    def _wake_reader(self) -> None:
        if self._readable is not None and not self._readable.done():
            self._readable.set_result(None)

    # -- used by the pool and the race -------------------------------------------------------------------

    @property
    def broken(self) -> bool:
        """Closed, or the server sent something nobody asked for: no request can go (on) on it."""
        assert self.transport is not None
        return self._closed or bool(self._data) or self.transport.is_closing()

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    async def drain(self) -> None:
        """Wait while the socket's send buffer is full (a 16 KiB token meets a small window)."""
        if self._writable is not None:
            await self._writable
        if self._closed and self._error is not None:
            raise ReadError(str(self._error)) from self._error

    async def read(self) -> bytes:
        """The next bytes from the server; b"" once it closed. A reset raises ReadError."""
        while not self._data and not self._closed:
            self._readable = asyncio.get_running_loop().create_future()
            await self._readable
        if self._data:
            return self._data.popleft()
        if self._error is not None:
            raise ReadError(str(self._error)) from self._error
        return b""

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        """Drop the connection at once: nothing is left to send, and a TLS goodbye is not waited for."""
        if self.transport is not None:
            self.transport.abort()


async def connect(
    host: str, port: int, ssl_context: SSLContext | None, proxy: Proxy | None = None
) -> Connection:
    """A new connection (TCP, and TLS with ``ssl_context``); ConnectFailed when none can be made.

    Through ``proxy`` (transport/proxies.py): a connection to the proxy, on which a plain-http request is
    written in absolute form (the caller's :func:`proxied_target`), and for TLS a ``CONNECT`` tunnel to
    ``host:port`` with the TLS handshake to the target inside it - the proxy relays bytes as they come."""
    loop = asyncio.get_running_loop()
    if proxy is None:
        try:
            _transport, conn = await loop.create_connection(
                Connection, host, port, ssl=ssl_context, server_hostname=host if ssl_context else None
            )
        except OSError as exc:  # refused, DNS, TLS handshake (ssl.SSLError is an OSError)
            raise ConnectFailed(str(exc) or type(exc).__name__) from exc
        return conn
    try:
        _transport, conn = await loop.create_connection(Connection, proxy.host, proxy.port)
    except OSError as exc:
        raise ConnectFailed(f"the proxy {proxy.shown} ({proxy.source}): {exc or type(exc).__name__}") from exc
    if ssl_context is None:
        return conn
    try:
        await _tunnel(conn, host, port, proxy)
        assert conn.transport is not None
        conn.transport = cast(
            asyncio.Transport,
            await loop.start_tls(conn.transport, conn, ssl_context, server_hostname=host),
        )
    except OSError as exc:  # the TLS handshake inside the tunnel
        conn.abort()
        raise ConnectFailed(str(exc) or type(exc).__name__) from exc
    except BaseException:
        conn.abort()
        raise
    return conn


async def _tunnel(conn: Connection, host: str, port: int, proxy: Proxy) -> None:
    """``CONNECT host:port`` on a connection to the proxy (RFC 9110 9.3.6): a 2xx opens the tunnel, any
    other answer is the proxy's refusal (ConnectFailed naming its status), not the target's."""
    authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    tunnel = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_INCOMPLETE_EVENT_SIZE)
    headers = [(b"Host", authority.encode("ascii")), *proxy.header()]
    conn.write(
        tunnel.send(h11.Request(method=b"CONNECT", target=authority.encode("ascii"), headers=headers)) or b""
    )
    while True:
        event = tunnel.next_event()
        if event is h11.NEED_DATA:
            data = await conn.read()
            if not data:
                raise ConnectFailed(f"the proxy {proxy.shown} closed the connection before answering CONNECT")
            tunnel.receive_data(data)
            continue
        if isinstance(event, h11.Response):
            break
        if not isinstance(event, h11.InformationalResponse):
            raise ConnectFailed(f"the proxy {proxy.shown} answered CONNECT with {type(event).__name__}")
    if not 200 <= event.status_code < 300:
        reason = event.reason.decode("latin-1", "replace")
        raise ConnectFailed(
            f"the proxy {proxy.shown} refused CONNECT {authority}: {event.status_code} {reason}"
        )


def proxied_target(base_url: str, target: bytes, proxy: Proxy | None, tls: bool) -> bytes:
    """The request target as written to the connection: the absolute form for a plain-http request to a
    proxy (RFC 9112 3.2.2), the origin form otherwise (a tunnel carries the request as the target sees it)."""
    if proxy is None or tls:
        return target
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}".encode("ascii") + target


def encode(
    conn: h11.Connection, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes
) -> bytes:
    """The request's bytes as h11 writes them; h11.LocalProtocolError when HTTP forbids the request."""
    head, rest = encode_parts(conn, method, target, headers, body)
    return head + rest


def encode_parts(
    conn: h11.Connection, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes
) -> tuple[bytes, bytes]:
    """:func:`encode`'s bytes as the head (request line and header fields) and what follows it."""
    head = conn.send(h11.Request(method=method, target=target, headers=headers)) or b""
    rest = (conn.send(h11.Data(data=body)) or b"") if body else b""
    return head, rest + (conn.send(h11.EndOfMessage()) or b"")


async def write_request(conn: Connection, head: bytes, rest: bytes) -> str:
    """Write a request: in one write, or - a head over ``HOLD_ABOVE`` bytes - as a network delivers it, its
    last ``HELD_BYTES`` held back ``HOLD_S``. Returns how it was written ("" for one write)."""
    if len(head) <= HOLD_ABOVE:
        conn.write(head + rest)
        await conn.drain()
        return ""
    conn.write(head[:-HELD_BYTES])
    await conn.drain()
    await asyncio.sleep(HOLD_S)
    conn.write(head[-HELD_BYTES:] + rest)
    await conn.drain()
    return (
        f"in two writes: the first {len(head) - HELD_BYTES:,} bytes of its {len(head):,}-byte head, then the "
        f"last {HELD_BYTES} (and the body) {HOLD_S * 1000:g} ms later, as a network may deliver a long head"
    )


def header_encoding(raw: list[tuple[bytes, bytes]]) -> str:
    """httpx's rule: ASCII if every header fits, else UTF-8 if every header fits, else ISO-8859-1."""
    for encoding in ("ascii", "utf-8"):
        try:
            for key, value in raw:
                key.decode(encoding)
                value.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    return "iso-8859-1"


async def read_answer(conn: Connection, reply: Answer) -> None:
    """Read one answer into ``reply`` (``reply.complete`` once its body ended); raises
    h11.RemoteProtocolError or ReadError when the exchange breaks."""
    while True:
        event = await _next_event(conn)
        if isinstance(event, h11.ConnectionClosed):
            raise h11.RemoteProtocolError(_DISCONNECTED)
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
                return  # cut at the cap: the rest is never read, so the connection is not reused
        elif isinstance(event, h11.EndOfMessage) or event is h11.PAUSED:
            reply.complete = True
            return
        elif isinstance(event, h11.ConnectionClosed):
            raise h11.RemoteProtocolError("peer closed connection without sending complete message body")


async def _next_event(conn: Connection) -> object:
    while True:
        event = conn.h11.next_event()
        if event is not h11.NEED_DATA:
            return event
        data = await conn.read()
        if data == b"" and conn.h11.their_state is h11.SEND_RESPONSE:
            raise h11.RemoteProtocolError(_DISCONNECTED)
        conn.h11.receive_data(data)


class Pool:
    """Keep-alive connections to ``host``:``port`` (TLS with ``ssl_context``), one request at a time each."""

    def __init__(
        self, host: str, port: int, ssl_context: SSLContext | None, proxy: Proxy | None = None
    ) -> None:
        self.host, self.port, self.ssl_context, self.proxy = host, port, ssl_context, proxy
        self.reopened = 0  # requests sent again after an idle close crossed them (a run note)
        self._idle: deque[Connection] = deque()
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)

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
                conn = await connect(self.host, self.port, self.ssl_context, self.proxy)
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
        try:
            reply.written = await write_request(conn, *encode_parts(conn.h11, method, target, headers, body))
            await read_answer(conn, reply)
            done = reply.complete
        finally:
            if done and conn.h11.our_state is h11.DONE and conn.h11.their_state is h11.DONE:
                conn.h11.start_next_cycle()
                conn.served += 1
                self._keep(conn)
            else:
                self._drop(conn)

    async def _connection(self, *, reuse: bool) -> Connection:
        now = time.monotonic()
        while reuse and self._idle:
            conn = self._idle.pop()
            if not conn.broken and now - conn.idle_since < KEEPALIVE_S:
                return conn
            self._drop(conn)
        return await connect(self.host, self.port, self.ssl_context, self.proxy)

    def _keep(self, conn: Connection) -> None:
        conn.idle_since = time.monotonic()
        self._idle.append(conn)
        while len(self._idle) > MAX_IDLE:
            self._drop(self._idle.popleft())

    def close(self) -> None:
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
