"""Running the proxy: in a background thread for tests (:class:`ProxyServer`), or in the foreground.

Same uvicorn choices as the reference server (httptools + uvloop, no access log, no Server header) plus
no Date header: every header of the answer is the upstream's own.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

import uvicorn

from conformance.errors import UsageError
from conformance.proxy.app import ValidatingProxy, Violation
from conformance.server.runner import bind


def proxy_config(
    app: ValidatingProxy, *, log_level: str = "warning", own_logging: bool = False
) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        http="httptools",
        loop="uvloop",
        ws="none",
        lifespan="on",
        access_log=False,
        server_header=False,
        date_header=False,
        log_level=log_level,
        log_config=uvicorn.config.LOGGING_CONFIG if own_logging else None,
        timeout_graceful_shutdown=2,
    )


class ProxyServer:
    """A :class:`ValidatingProxy` on an ephemeral loopback port, in a background thread; a context manager.

    ``with ProxyServer(upstream, profile="huawei") as proxy:`` gives ``proxy.base_url`` (point the client
    here), ``proxy.app`` and ``proxy.violations``; leaving the block stops it (bounded: 5 s, then forced).
    """

    def __init__(
        self,
        upstream: str,
        profile: str = "strict",
        enforce: bool = False,
        *,
        on_violation: Callable[[Violation], object] | None = None,
        preserve_host: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.app = ValidatingProxy(
            upstream, profile, enforce, on_violation=on_violation, preserve_host=preserve_host
        )
        self._host, self._port = host, port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.base_url = ""

    @property
    def violations(self) -> list[Violation]:
        return self.app.violations

    def take_violations(self) -> list[Violation]:
        return self.app.take_violations()

    def start(self, timeout: float = 10.0) -> ProxyServer:
        sock, self.base_url = bind(self._host, self._port)
        server = self._server = uvicorn.Server(proxy_config(self.app))
        thread = threading.Thread(target=self._run, args=(server, sock), name="oms-proxy", daemon=True)
        self._thread = thread
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the proxy did not start: {self._error or 'timed out'}")
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

    def __enter__(self) -> ProxyServer:
        return self.start()

    def __exit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()


def serve_proxy(app: ValidatingProxy, host: str, port: int, on_ready: Callable[[str], Any]) -> int | None:
    """Serve in the foreground until SIGINT or SIGTERM; returns the signal that ended it (None otherwise).

    uvicorn takes both signals while it runs and re-raises them once it has shut down; the handlers installed
    here receive that re-raise, so the caller still gets to write its report.
    """
    try:
        sock, base_url = bind(host, port)
    except OSError as exc:
        raise UsageError(f"--host/--port {host}:{port}: cannot listen there ({exc.strerror or exc})") from exc
    received: list[int] = []
    try:
        on_ready(base_url)
        server = uvicorn.Server(proxy_config(app, log_level="warning", own_logging=True))

        def noted(sig: int, _frame: FrameType | None) -> None:
            received.append(sig)

        previous = {sig: signal.signal(sig, noted) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            server.run(sockets=[sock])
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    finally:
        sock.close()
    return received[0] if received else None
