"""HTTP/1.1 on asyncio sockets through h11: the one place where the client's requests meet a socket.

Two users, one connection type (:class:`Connection`), one request encoder and one answer reader, so that a
reset or a strange framing reads the same wherever it happens:

- :class:`~conformance.transport.keepalive.Pool` - keep-alive connections for :meth:`Client.send`
  (transport/http.py). It exists because a deep fuzz run sends tens of thousands of small requests, and
  through httpx each cost ~4 ms of CPU (the URL re-parsed and re-quoted a character at a time, anyio and
  httpcore layers, a cookie jar); here it is about a quarter of that (tests/benchmarks/bench_client.py).
- the race (transport/race.py), which writes a request but its final byte and holds it there.

h11 turns each request into bytes - refusing what HTTP forbids, which the client reports as *not sent* - and
parses each answer: interim 1xx answers skipped, Content-Length, chunked and close-delimited bodies, HTTP/1.0
servers and ``Connection: close``. At most ``cap`` bytes of a body are kept (:class:`Answer`); its content
coding is undone later, in one place for every path (transport/codings.py, from :meth:`Client.result`).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from ssl import SSLContext
from typing import cast
from urllib.parse import urlsplit

import h11

from conformance.transport.outcome import ConnectFailed, ReadError
from conformance.transport.proxies import Proxy

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
# Set by :func:`whole_heads`: the requests sent in its context go in one write, however long their head.
_WHOLE: ContextVar[bool] = ContextVar("oms_conformance_whole_heads", default=False)
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


@contextmanager
def whole_heads() -> Iterator[None]:
    """Requests sent in this context (this task and the tasks it starts) go in one write, however long.

    For a request every refusal of which is right - an invalid value, where only a 2xx would be a finding
    (checks/fuzz.py's negative cases): holding its head back makes a limit before the application refuse
    it, which is right too and can only hide what the application would have answered. Holding back is
    for the requests a refusal by such a limit fails: a legal long value must reach the application."""
    reset = _WHOLE.set(True)
    try:
        yield
    finally:
        _WHOLE.reset(reset)


async def write_request(conn: Connection, head: bytes, rest: bytes) -> str:
    """Write a request: in one write, or - a head over ``HOLD_ABOVE`` bytes, unless sent in the context of
    :func:`whole_heads` - as a network delivers it, its last ``HELD_BYTES`` held back ``HOLD_S``. Returns how
    it was written ("" for one write)."""
    if len(head) <= HOLD_ABOVE or _WHOLE.get():
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
