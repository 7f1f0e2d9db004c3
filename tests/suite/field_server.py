"""The model behind an HTTP/1.1 server that behaves as servers and gateways in the field do, on h11.

uvicorn (socket_server.py) is one well-behaved server. Real deployments differ in ways that are all legal
(RFC 9110/9112) and that a conformance client must never blame on the application:

- ``gzip``: JSON bodies compressed when the request accepts gzip (``Vary: Accept-Encoding``), as nginx with
  ``gzip on`` does; ``deflate`` likewise, as zlib data;
- ``header_timeout``: a connection with no complete request head within this many seconds - idle after an
  answer, or holding half a request - is closed without a word (load balancers, hardened servers);
  ``answer_408`` sends a 408 first, as some servers do;
- ``close_every``: the connection is closed after every Nth answer, without announcing it;
- ``slow_every`` / ``slow_s``: every Nth answer waits this long first (a GC pause, a cold cache);
- ``chunked``: bodies are sent chunked instead of with a Content-Length;
- ``unasked_coding``: JSON bodies come in a coding the client never asked for (a CDN's ``br``): what the
  application said is then unknown, which is no proof of anything.

Everything else is the model's. The server runs its own event loop in a thread, on an ephemeral loopback
port, and is stopped within a bounded time.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip as gzip_module
import itertools
import threading
import zlib
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

import h11

from .model import Model

TIMEOUT_408 = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


@dataclass(frozen=True)
class Field:
    gzip: bool = False
    deflate: bool = False
    header_timeout: float | None = None
    answer_408: bool = False
    close_every: int | None = None
    slow_every: int | None = None
    slow_s: float = 0.0
    chunked: bool = False
    unasked_coding: str = ""  # every JSON body tagged with this Content-Encoding, asked for or not


class FieldServer:
    """``with FieldServer(model, Field(...)) as server:`` serves at ``server.base_url``."""

    def __init__(self, model: Model, behaviour: Field) -> None:
        self.model, self.behaviour = model, behaviour
        self.answers = itertools.count(1)
        self.closed_idle = 0  # connections closed for the header timeout (so a test can see it happened)
        self.closed_after_answer = 0
        self._connections = itertools.count(1)  # each connection's number, in the model's scope
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="oms-field-server", daemon=True)
        self._ready = threading.Event()
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FieldServer:
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError("the field server did not start")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0, limit=1 << 20)
            self.port = self._server.sockets[0].getsockname()[1]
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()
        # Connections a client left open end here, each closing its socket (_connection's finally) and
        # waiting for it to close: a transport still closing when the loop closes is collected unclosed, and
        # pytest reports that (a ResourceWarning) against whichever test runs when it is.
        tasks = asyncio.all_tasks(self._loop)
        for task in tasks:
            task.cancel()
        with contextlib.suppress(Exception):
            self._loop.run_until_complete(asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 5))
        self._loop.close()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=64 * 1024)
        number = next(self._connections)
        try:
            while True:
                try:
                    async with asyncio.timeout(self.behaviour.header_timeout):
                        request = await _next(conn, reader, h11.Request)
                except TimeoutError:
                    self.closed_idle += 1
                    if self.behaviour.answer_408 and conn.their_state is not h11.IDLE:
                        writer.write(
                            b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
                        )
                    return
                if request is None:
                    return
                body = b""
                while True:
                    event = await _next(conn, reader, (h11.Data, h11.EndOfMessage))
                    if not isinstance(event, h11.Data):
                        break
                    body += event.data
                if not await self._answer(conn, writer, request, body, number):
                    return
                if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                    return
                conn.start_next_cycle()
        except (h11.ProtocolError, ConnectionError):
            return
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(
        self,
        conn: h11.Connection,
        writer: asyncio.StreamWriter,
        request: h11.Request,
        body: bytes,
        number: int,
    ) -> bool:
        """Answer one request; False when the connection is to be closed after it."""
        status, headers, content = await self._call_model(request, body, number)
        n = next(self.answers)
        b = self.behaviour
        if b.slow_every and n % b.slow_every == 0:
            await asyncio.sleep(b.slow_s)
        accepts = dict(request.headers).get(b"accept-encoding", b"").lower()
        json_body = any(k == b"content-type" and b"json" in v for k, v in headers) and content
        if json_body and b.gzip and b"gzip" in accepts:
            content = gzip_module.compress(content)
            headers += [(b"content-encoding", b"gzip"), (b"vary", b"Accept-Encoding")]
        elif json_body and b.unasked_coding:
            content = b"\x1b\x00opaque " + content[::-1]  # bytes no client could read without the coding
            headers += [(b"content-encoding", b.unasked_coding.encode())]
        elif json_body and b.deflate and b"deflate" in accepts:
            content = zlib.compress(content)
            headers += [(b"content-encoding", b"deflate"), (b"vary", b"Accept-Encoding")]
        framing = (
            (b"transfer-encoding", b"chunked") if b.chunked else (b"content-length", b"%d" % len(content))
        )
        out = conn.send(h11.Response(status_code=status, headers=[*headers, framing])) or b""
        if content and request.method != b"HEAD":
            out += conn.send(h11.Data(data=content)) or b""
        out += conn.send(h11.EndOfMessage()) or b""
        writer.write(out)
        await writer.drain()
        if b.close_every and n % b.close_every == 0:
            self.closed_after_answer += 1
            return False
        return True

    async def _call_model(
        self, request: h11.Request, body: bytes, number: int
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        target = request.target.decode("latin-1")
        path, _, query = target.partition("?")
        scope: dict[str, Any] = {
            "type": "http",
            "method": request.method.decode("ascii"),
            "path": path,
            "raw_path": path.encode("latin-1"),
            "query_string": query.encode("latin-1"),
            "headers": [(k.lower(), v) for k, v in request.headers],
            "connection": number,  # not ASGI's: the model's auth_per_connection fault keys on it
        }
        messages: list[MutableMapping[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            messages.append(message)

        await self.model(scope, receive, send)
        start = messages[0]
        content = b"".join(m.get("body", b"") for m in messages[1:])
        headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
        return start["status"], headers, content


async def _next(conn: h11.Connection, reader: asyncio.StreamReader, kinds: Any) -> Any:
    """The next event of ``kinds``; None when the client closed first."""
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            data = await reader.read(65536)
            conn.receive_data(data)
            continue
        if isinstance(event, h11.ConnectionClosed):
            return None
        if isinstance(event, kinds):
            return event


@contextlib.contextmanager
def serving(model: Model, behaviour: Field) -> Iterator[FieldServer]:
    with FieldServer(model, behaviour) as server:
        yield server
