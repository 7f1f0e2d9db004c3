"""Bounded connections for the reference server and the proxy: slow or stalled clients cannot hold them.

Why: uvicorn bounds only the idle time *between* requests (``timeout_keep_alive``, armed when a response
completes). A connection that sends nothing, a request head trickled one byte every 0.5 s, or a body that
stops short of its ``Content-Length`` is held forever, with the app's task waiting in ``receive()``.
``limit_concurrency`` does not help: it answers new requests 503 while the bad connections stay open.
So the serving layer uses uvicorn's httptools protocol (through :mod:`conformance._seams.uvicorn`, which
checks the internals read here) with these bounds added (:class:`ConnectionLimits`):

- **head deadline**: a request's line and headers must all arrive within ``head_timeout`` of its first
  byte - this is what stops a slow-headers client, which is never idle for long;
- **idle while incomplete**: no byte for ``idle_timeout`` while a head or a body is incomplete (reading is
  not paused by flow control) - a half-sent request or a short body - or before a new connection's first;
- **head size**: at most ``max_head_bytes`` read while a head is incomplete, after the read in which it
  began (httptools has no limit of its own; the default leaves room for a legal 16,384-character token;
  the read a head begins in is not counted, because it may also hold the previous request's body);
- **connection cap**: at most ``max_connections`` open; one more evicts the connection that has waited
  longest for its client (an incomplete request, or idle between requests), so a flood of half-open
  connections cannot lock a normal client out; if none is waiting, the newcomer is closed;
- **keep-alive**: a connection idle between requests for ``keep_alive`` seconds is closed by the
  sweep too, instead of by the timer uvicorn arms after every response (a ``call_later`` and its
  ``cancel`` per request: ~3 us, a few per cent of a stop on the reference server).

A timed-out request whose head or body had begun gets ``408`` with a JSON error envelope and
``Connection: close`` (the app's task, if any, sees ``http.disconnect``, and whatever it sends is dropped);
a connection that sent nothing is closed silently, as uvicorn closes idle keep-alive connections. An app
that fails *because* its client went away (e.g. the proxy, whose upstream request is then short of its
``Content-Length``) is noted in one line, not with a traceback (:func:`quiet_when_client_gone`).

Checks run in one sweep per server every ``sweep_interval`` seconds, not as timers per request, and read
where a request stands from uvicorn's own state: the hot path only stores the time of each read and looks
at two attributes (measured against the stock protocol: a difference within the benchmark's noise).
"""

from __future__ import annotations

import asyncio
import json
import logging
import weakref
from dataclasses import dataclass
from typing import Any, ClassVar

from conformance._seams import uvicorn as uvicorn_seam
from conformance._seams.uvicorn import HttpToolsProtocol

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectionLimits:
    head_timeout: float = 10.0
    idle_timeout: float = 3.0
    max_head_bytes: int = 64 * 1024
    max_connections: int = 1000
    sweep_interval: float = 0.25
    keep_alive: float = 5.0  # uvicorn's default timeout_keep_alive


def _answer(status: int, reason: bytes, code: str, message: str) -> bytes:
    body = json.dumps({"error_code": code, "error_msg": message}).encode()
    head = b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n" % (
        status,
        reason,
        len(body),
    )
    return head + b"connection: close\r\n\r\n" + body


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol bounded by :class:`ConnectionLimits` (see :func:`bounded_http`)."""

    limits: ClassVar[ConnectionLimits] = ConnectionLimits()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        now = self.loop.time()
        self._last_input = now
        self._opened = now
        self._served_at = now  # when the last answer was complete
        self._head_scope: object = None  # the scope of the last request whose head was seen incomplete
        self._head_started = now
        self._head_bytes = 0
        _Sweeper.for_protocol(self).watch()
        if len(self.connections) > self.limits.max_connections:
            self._make_room()

    # The hot path: the only per-request hook. Where a request stands is read from uvicorn's own state
    # (scope: created when a head begins; cycle: created when it completes; cycle.more_body: the body).
    def data_received(self, data: bytes) -> None:
        self._last_input = now = self.loop.time()
        super().data_received(data)
        scope, cycle = self.scope, self.cycle
        if scope is None or (cycle is not None and cycle.scope is scope):
            return  # no request begun, or its head is complete: the usual case
        if scope is not self._head_scope:  # a head began in this read, which may hold the previous body
            self._head_scope, self._head_started, self._head_bytes = scope, now, 0
            return
        self._head_bytes += len(data)
        if self._head_bytes > self.limits.max_head_bytes and not self.transport.is_closing():
            message = f"the request head exceeds {self.limits.max_head_bytes} bytes"
            self._refuse(431, b"Request Header Fields Too Large", message)

    def on_response_complete(self) -> None:
        # uvicorn's own, less the keep-alive timer (the sweep closes idle connections: see overdue()).
        self._served_at = self.loop.time()
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:  # the next pipelined request, held back while this one was answered
            cycle, app = self.pipeline.pop()
            uvicorn_seam.start_pipelined(self, cycle, app)

    def _phase(self) -> str:
        """``fresh`` (nothing of a request yet), ``head`` (incomplete), ``body`` (incomplete), or ``served``
        (the app has the whole request, or it is between requests: keep-alive applies)."""
        scope, cycle = self.scope, self.cycle
        if scope is None:
            return "fresh"
        if cycle is None or cycle.scope is not scope:
            return "head"
        return "body" if cycle.more_body else "served"

    def overdue(self, now: float) -> bool:
        """Whether the client has had its time (called by the sweep)."""
        if self.transport.is_closing() or self.flow.read_paused:  # paused: we are not reading, it may wait
            return False
        phase = self._phase()
        if phase == "served":  # idle between requests once the last answer is out
            cycle = self.cycle
            answered = cycle is not None and cycle.response_complete and not self.pipeline
            return answered and now - max(self._served_at, self._last_input) > self.limits.keep_alive
        idle = now - self._last_input > self.limits.idle_timeout
        if phase == "body":
            return idle
        started = self._opened if phase == "fresh" else self._head_started
        return idle or now - started > self.limits.head_timeout

    def waiting_since(self) -> float | None:
        """When this connection last heard from the client it waits for; None while the app serves it."""
        if self.transport.is_closing():
            return None
        cycle = self.cycle
        if self._phase() == "served" and cycle is not None and not cycle.response_complete:
            return None
        return self._last_input

    def time_out(self) -> None:
        if self._phase() in ("fresh", "served"):
            self.transport.close()  # nothing of a (new) request arrived: close quietly, as uvicorn does
            return
        limits = self.limits
        message = (
            f"the request was not complete in time (its head within {limits.head_timeout:g} s, "
            f"no pause over {limits.idle_timeout:g} s)"
        )
        self._refuse(408, b"Request Timeout", message)

    def _refuse(self, status: int, reason: bytes, message: str) -> None:
        cycle = self.cycle
        if cycle is None or not cycle.response_started:
            self.transport.write(_answer(status, reason, f"REF.0{status}", message))
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True  # the app's receive() returns http.disconnect; its sends are dropped
            cycle.message_event.set()
        self.transport.close()

    def _make_room(self) -> None:
        waiting = [
            (since, protocol)
            for protocol in self.connections
            if protocol is not self
            and isinstance(protocol, BoundedHttpToolsProtocol)
            and (since := protocol.waiting_since()) is not None
        ]
        if not waiting:
            self.transport.close()
            return
        _, oldest = min(waiting, key=lambda pair: pair[0])
        oldest.time_out()


class _Sweeper:
    """One per uvicorn server (its shared state): checks every connection every ``sweep_interval``."""

    _by_state: ClassVar[weakref.WeakKeyDictionary[Any, _Sweeper]] = weakref.WeakKeyDictionary()

    def __init__(self, connections: set[Any], loop: asyncio.AbstractEventLoop, interval: float) -> None:
        self._connections = connections
        self._loop = loop
        self._interval = interval
        self._handle: asyncio.TimerHandle | None = None

    @classmethod
    def for_protocol(cls, protocol: BoundedHttpToolsProtocol) -> _Sweeper:
        state = protocol.server_state
        sweeper = cls._by_state.get(state)
        if sweeper is None or sweeper._loop is not protocol.loop:
            sweeper = cls(protocol.connections, protocol.loop, protocol.limits.sweep_interval)
            cls._by_state[state] = sweeper
        return sweeper

    def watch(self) -> None:
        if self._handle is None:
            self._handle = self._loop.call_later(self._interval, self._sweep)

    def _sweep(self) -> None:
        self._handle = None
        now = self._loop.time()
        for protocol in list(self._connections):
            if isinstance(protocol, BoundedHttpToolsProtocol) and protocol.overdue(now):
                protocol.time_out()
        if self._connections:
            self.watch()


def bounded_http(limits: ConnectionLimits | None = None) -> type[BoundedHttpToolsProtocol]:
    """The protocol class to give uvicorn (``Config(http=...)``) for these limits."""
    uvicorn_seam.checked()
    if limits is None or limits == BoundedHttpToolsProtocol.limits:
        return BoundedHttpToolsProtocol
    return type("BoundedHttpToolsProtocol", (BoundedHttpToolsProtocol,), {"limits": limits})


def quiet_when_client_gone(app: Any) -> Any:
    """The ASGI ``app``, except that an exception it raises after its client went away (a timed-out or
    dropped request: uvicorn's ``receive`` then says ``http.disconnect``) is one log line, not a traceback:
    nobody is left to answer, and the cause is the client's. Any other exception propagates as before."""

    async def guarded(scope: Any, receive: Any, send: Any) -> None:
        try:
            await app(scope, receive, send)
        except Exception as exc:
            # uvicorn's receive is a bound method of the request's cycle, which knows whether the client left.
            cycle = uvicorn_seam.cycle_of(receive)
            if cycle is None or not cycle.disconnected:
                raise
            _log.info("a request ended after its client went away (%s)", type(exc).__name__)

    return guarded
