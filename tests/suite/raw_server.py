"""A minimal HTTP/1.1 server on loopback that hands the model an ASGI scope with header names *as sent*
(real ASGI servers lower-case them), so a case-sensitive implementation can be tested over a real socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from .model import Model


async def _serve_one(app: Model, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _version = lines[0].split(" ", 2)
            headers = [tuple(line.split(":", 1)) for line in lines[1:] if ":" in line]
            raw = [(k.encode("latin-1"), v.strip().encode("latin-1")) for k, v in headers]
            length = int(next((v for k, v in raw if k.lower() == b"content-length"), b"0") or 0)
            if length:
                await reader.readexactly(length)
            scope = {
                "type": "http",
                "method": method,
                "path": target,
                "raw_path": target.encode("latin-1"),
                "headers": raw,
                "query_string": b"",
            }
            collector = _Collector()
            await app(scope, _receive, collector.send)
            messages = collector.messages
            start, body = messages[0], b"".join(m.get("body", b"") for m in messages[1:])
            out = [f"HTTP/1.1 {start['status']} X".encode()]
            out += [k + b": " + v for k, v in start["headers"]]
            out.append(b"content-length: " + str(len(body)).encode())
            writer.write(b"\r\n".join(out) + b"\r\n\r\n" + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


class _Collector:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def send(self, message: dict[str, Any]) -> None:
        self.messages.append(message)


@contextlib.contextmanager
def serve(app: Model) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 (ephemeral port) in a thread; yields the base URL."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, Any] = {}
    connections: set[asyncio.Task[Any]] = set()

    async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        connections.add(task)
        try:
            await _serve_one(app, reader, writer)
        finally:
            connections.discard(task)

    async def shut() -> None:
        # Connections a client left open end here, each closing its socket (_serve_one's finally): left to
        # the loop's close, their sockets would be collected unclosed, and pytest reports that (a
        # ResourceWarning) against whichever test runs when they are.
        for task in list(connections):
            task.cancel()
        await asyncio.gather(*connections, return_exceptions=True)
        holder["server"].close()  # last: it ends serve_forever, and with it the loop's run

    async def main() -> None:
        server = await asyncio.start_server(one, "127.0.0.1", 0)
        holder["server"] = server
        holder["port"] = server.sockets[0].getsockname()[1]
        ready.set()
        async with server:
            await server.serve_forever()

    thread = threading.Thread(target=lambda: loop.run_until_complete(_quiet(main())), daemon=True)
    thread.start()
    ready.wait(5)
    try:
        yield f"http://127.0.0.1:{holder['port']}"
    finally:
        asyncio.run_coroutine_threadsafe(shut(), loop).result(5)
        thread.join(5)
        loop.close()


async def _quiet(coro: Any) -> None:
    with contextlib.suppress(asyncio.CancelledError):
        await coro
