"""Reading a client's request body: bounded in time, judged when small, streamed when large.

Why this is more than ``await receive()``: a client that announces ``Content-Length: 100`` and sends 3
bytes would otherwise hold the exchange open until the upstream gives up (and the proxy then failed with a
traceback). Each wait for more body is bounded by ``idle_timeout``; a body that stalls or whose connection
closes early raises :class:`IncompleteBody`, which the proxy records as the client's violation.

A body of up to ``MAX_BODY`` bytes (a stop has none at all) is read whole before anything is forwarded, so
it can be judged - and refused under ``--enforce`` - first; a larger one is forwarded as a stream, its
first part already read, the rest as it comes.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from conformance.transport.http import MAX_BODY

Receive = Callable[[], Awaitable[dict[str, Any]]]


class IncompleteBody(Exception):
    """The client stopped sending its body (``stalled``) or closed the connection before its end."""

    def __init__(self, received: int, announced: int | None, stalled: bool) -> None:
        super().__init__("stalled" if stalled else "closed")
        self.received = received
        self.announced = announced
        self.stalled = stalled

    def describe(self, idle_timeout: float) -> str:
        of = f" of {self.announced}" if self.announced is not None else ""
        if self.stalled:
            return f"{self.received}{of} body bytes, then nothing for {idle_timeout:g}s"
        return f"{self.received}{of} body bytes, then the connection closed"


@dataclass
class RequestBody:
    """What was read before forwarding (``head``), and the remainder as a stream if there is one."""

    head: bytes
    rest: AsyncIterator[bytes] | None = None

    @property
    def complete(self) -> bytes | None:
        """The whole body when it was read before forwarding (judgeable), else None."""
        return self.head if self.rest is None else None

    def content(self) -> bytes | AsyncIterator[bytes]:
        if self.rest is None:
            return self.head
        return _chain(self.head, self.rest)


def announced_length(headers: Sequence[tuple[bytes, bytes]]) -> int | None:
    value = next((v for n, v in headers if n.lower() == b"content-length"), None)
    return int(value) if value is not None and value.strip().isdigit() else None


async def read_body(receive: Receive, idle_timeout: float, announced: int | None) -> RequestBody:
    """Read up to MAX_BODY bytes now; stream the rest. Raises :class:`IncompleteBody`."""
    reader = _Reader(receive, idle_timeout, announced)
    parts: list[bytes] = []
    size = 0
    while size <= MAX_BODY:
        chunk, more = await reader.next()
        parts.append(chunk)
        size += len(chunk)
        if not more:
            return RequestBody(b"".join(parts))
    return RequestBody(b"".join(parts), reader.stream())


class _Reader:
    def __init__(self, receive: Receive, idle_timeout: float, announced: int | None) -> None:
        self._receive = receive
        self._idle_timeout = idle_timeout
        self._announced = announced
        self.received = 0

    async def next(self) -> tuple[bytes, bool]:
        try:
            async with asyncio.timeout(self._idle_timeout):
                message = await self._receive()
        except TimeoutError:
            raise IncompleteBody(self.received, self._announced, stalled=True) from None
        if message["type"] != "http.request":  # http.disconnect: the client went away mid-body
            raise IncompleteBody(self.received, self._announced, stalled=False)
        chunk = bytes(message.get("body", b""))
        self.received += len(chunk)
        return chunk, bool(message.get("more_body"))

    async def stream(self) -> AsyncIterator[bytes]:
        more = True
        while more:
            chunk, more = await self.next()
            yield chunk


async def _chain(head: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield head
    async for chunk in rest:
        yield chunk
