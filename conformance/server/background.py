"""A uvicorn server in a background thread on a bound socket: what the reference server and the proxy
both need for tests and embedded use. Start-up waits until uvicorn is serving (or failed); stopping is
bounded - graceful first, then forced.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self

import uvicorn


async def answer_lifespan(
    receive: Any,  # the ASGI receive and send callables (each app types them its own way)
    send: Any,
    on_shutdown: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """The ASGI lifespan protocol for apps with nothing to start: acknowledge, run ``on_shutdown``."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if on_shutdown is not None:
                await on_shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return


def uvicorn_config(
    app: Any, *, log_level: str = "warning", own_logging: bool = False, date_header: bool = True
) -> uvicorn.Config:
    """The uvicorn settings of every server here: httptools + uvloop (the fastest pair; httptools also has no
    header-size limit of its own, so a legal 16,384-character token reaches the app), no access log, no
    ``Server`` header, websockets off."""
    return uvicorn.Config(
        app,
        http="httptools",
        loop="uvloop",
        ws="none",
        lifespan="on",
        access_log=False,
        server_header=False,
        date_header=date_header,
        proxy_headers=False,  # nothing trusted in front; its middleware would cost a call per request
        log_level=log_level,
        # Embedded servers leave logging to the host program (pytest, the run command).
        log_config=uvicorn.config.LOGGING_CONFIG if own_logging else None,
        timeout_graceful_shutdown=2,
    )


class BackgroundServer:
    """Subclasses set ``self.app`` and implement :meth:`config`; ``base_url`` is known once started."""

    thread_name = "oms-server"

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = app
        self._host, self._port = host, port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.base_url = ""

    def config(self) -> uvicorn.Config:
        raise NotImplementedError

    def start(self, timeout: float = 10.0) -> Self:
        from conformance.server.runner import bind

        sock, self.base_url = bind(self._host, self._port)
        server = self._server = uvicorn.Server(self.config())
        thread = threading.Thread(target=self._run, args=(server, sock), name=self.thread_name, daemon=True)
        self._thread = thread
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.thread_name} did not start: {self._error or 'timed out'}")
            time.sleep(0.001)
        return self

    def _run(self, server: uvicorn.Server, sock: socket.socket) -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # uvicorn ends a failed start-up with SystemExit
            self._error = exc
        finally:
            sock.close()

    def stop(self, timeout: float = 5.0) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(1.0)
            self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
