"""Running the proxy: in a background thread for tests (:class:`ProxyServer`), or in the foreground.

Same uvicorn choices as the reference server (httptools + uvloop, no access log, no Server header) plus
no Date header: every header of the answer is the upstream's own.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from types import FrameType
from typing import Any

import uvicorn

from conformance.errors import UsageError
from conformance.proxy.app import ValidatingProxy, Violation
from conformance.server.background import BackgroundServer, uvicorn_config
from conformance.server.runner import bind


def proxy_config(
    app: ValidatingProxy, *, log_level: str = "warning", own_logging: bool = False
) -> uvicorn.Config:
    # No Date header of its own: every header of the answer is the upstream's.
    return uvicorn_config(app, log_level=log_level, own_logging=own_logging, date_header=False)


class ProxyServer(BackgroundServer):
    """A :class:`ValidatingProxy` on an ephemeral loopback port, in a background thread; a context manager.

    ``with ProxyServer(upstream, profile="huawei") as proxy:`` gives ``proxy.base_url`` (point the client
    here), ``proxy.app`` and ``proxy.violations``; leaving the block stops it (bounded: 5 s, then forced).
    """

    thread_name = "oms-proxy"

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
        app = ValidatingProxy(
            upstream, profile, enforce, on_violation=on_violation, preserve_host=preserve_host
        )
        super().__init__(app, host=host, port=port)
        self.app: ValidatingProxy

    @property
    def violations(self) -> list[Violation]:
        return self.app.violations

    def take_violations(self) -> list[Violation]:
        return self.app.take_violations()

    def config(self) -> uvicorn.Config:
        return proxy_config(self.app)


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
