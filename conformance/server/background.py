"""Serving an ASGI app with uvicorn, as the reference server and the proxy both do: one configuration, a
background thread for tests and embedded use (start-up waits until uvicorn serves; stopping is bounded -
graceful first, then forced), and a foreground loop for the commands that ends cleanly on SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio
import ipaddress
import signal
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from types import FrameType, TracebackType
from typing import Any, Self

import uvicorn
import uvloop

from conformance.errors import UsageError
from conformance.server.connections import ConnectionLimits, bounded_http, quiet_when_client_gone


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
    app: Any,
    *,
    log_level: str = "warning",
    own_logging: bool = False,
    date_header: bool = True,
    limits: ConnectionLimits | None = None,
) -> uvicorn.Config:
    """The uvicorn settings of every server here: httptools + uvloop (the fastest pair; httptools also has no
    header-size limit of its own, so a legal 16,384-character token plus ordinary headers reaches the app,
    where h11's default 16 KiB limit for the whole head would refuse it first), bounded connections
    (:mod:`conformance.server.connections`: slow or stalled clients are closed, connections are capped),
    no access log, no ``Server`` header, websockets off (an upgrade request is answered as plain HTTP, by
    the app)."""
    return uvicorn.Config(
        quiet_when_client_gone(app),
        http=bounded_http(limits),
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


def run_server(server: uvicorn.Server, sock: socket.socket) -> None:
    """Serve ``server`` on ``sock`` on a uvloop loop of its own, in the calling thread.

    Why not ``server.run()``: before 0.36, uvicorn's ``run`` installed uvloop's event-loop *policy* for the
    whole process (``asyncio.set_event_loop_policy``), so every loop created afterwards - the run's client
    loop in the main thread included - was a uvloop loop. ``Server.serve`` plus a loop factory gives every
    uvicorn version the loop it asks for (``loop="uvloop"``) and leaves the process's policy alone.
    """
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(server.serve(sockets=[sock]))


def bind(host: str, port: int) -> tuple[socket.socket, str]:
    """A listening socket and the base URL that reaches it (a wildcard host is reached on loopback)."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    bound_port = sock.getsockname()[1]
    shown = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    shown = f"[{shown}]" if ":" in shown else shown
    return sock, f"http://{shown}:{bound_port}"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve_foreground(
    config: uvicorn.Config,
    host: str,
    port: int,
    on_ready: Callable[[str], Any],
    *,
    prepare: Callable[[], None] | None = None,
) -> int | None:
    """Serve until SIGINT or SIGTERM, shut down gracefully, and return the signal that ended it.

    uvicorn takes both signals while it runs and re-raises them once it has shut down; the handlers installed
    here receive that re-raise, so the caller returns normally (and can still write its reports).

    They are installed before ``on_ready`` says the server is up: the socket already accepts connections
    then, so a supervisor may send SIGTERM at once - before uvicorn has taken the signals over (it loads
    the app first). Such a signal is kept and tells uvicorn to stop as soon as it has started; without
    this, it killed the process before its reports were written, or was swallowed and the server ran on.
    """
    try:
        sock, base_url = bind(host, port)
    except OSError as exc:
        raise UsageError(f"--host/--port {host}:{port}: cannot listen there ({exc.strerror or exc})") from exc
    received: list[int] = []
    server = uvicorn.Server(config)

    def noted(sig: int, _frame: FrameType | None) -> None:
        received.append(sig)
        server.should_exit = True  # uvicorn reads it after its start-up: no main loop, a graceful shutdown

    try:
        previous = {sig: signal.signal(sig, noted) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            if prepare is not None:
                prepare()
            on_ready(base_url)
            run_server(server, sock)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    finally:
        sock.close()
    return received[0] if received else None


class BackgroundServer:
    """Subclasses set ``self.app`` and implement :meth:`config`; ``base_url`` is known once started."""

    thread_name = "oms-server"

    def __init__(
        self, app: Any, *, host: str = "127.0.0.1", port: int = 0, limits: ConnectionLimits | None = None
    ) -> None:
        self.app = app
        self.limits = limits  # None: the defaults of ConnectionLimits
        self._host, self._port = host, port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.base_url = ""

    def config(self) -> uvicorn.Config:
        raise NotImplementedError

    def start(self, timeout: float = 10.0) -> Self:
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
            run_server(server, sock)
        except BaseException as exc:  # uvicorn ends a failed start-up with SystemExit
            self._error = exc
        finally:
            sock.close()

    @property
    def running(self) -> bool:
        """Started and not stopped (nor ended by a failure of its own)."""
        return self._thread is not None and self._thread.is_alive()

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
