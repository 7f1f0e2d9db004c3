"""Running the proxy: in a background thread for tests (:class:`ProxyServer`), or in the foreground.

Same uvicorn choices as the reference server (httptools + uvloop, no access log, no Server header) plus
no Date header (every header of the answer is the upstream's own), and the proxy's own HTTP protocol class
(:mod:`conformance.proxy.http_layer`): requests uvicorn's parser refuses are recorded, not just refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import uvicorn
from uvicorn.config import HTTP_PROTOCOLS
from uvicorn.importer import import_from_string

from conformance._seams.uvicorn import HttpToolsProtocol
from conformance.proxy.app import ValidatingProxy
from conformance.proxy.evidence import Side, Violation
from conformance.proxy.http_layer import recording_protocol
from conformance.server.background import BackgroundServer, serve_foreground, uvicorn_config
from conformance.server.connections import ConnectionLimits
from conformance.spec import Profile


def proxy_config(
    app: ValidatingProxy,
    *,
    log_level: str = "warning",
    own_logging: bool = False,
    limits: ConnectionLimits | None = None,
) -> uvicorn.Config:
    # No Date header of its own: every header of the answer is the upstream's.
    config = uvicorn_config(
        app, log_level=log_level, own_logging=own_logging, date_header=False, limits=limits
    )
    # The shared settings choose the protocol; the proxy derives its recording one from whatever that is,
    # so a change there (e.g. limits on connections) still applies here.
    chosen = config.http
    base = import_from_string(HTTP_PROTOCOLS.get(chosen, chosen)) if isinstance(chosen, str) else chosen
    if not (isinstance(base, type) and issubclass(base, HttpToolsProtocol)):
        raise RuntimeError(f"the proxy's HTTP layer hook needs uvicorn's httptools protocol, not {chosen!r}")
    config.http = recording_protocol(base, app)
    return config


class ProxyServer(BackgroundServer):
    """A :class:`ValidatingProxy` on an ephemeral loopback port, in a background thread; a context manager.

    ``with ProxyServer(upstream, profile="huawei") as proxy:`` gives ``proxy.base_url`` (point the client
    here), ``proxy.app`` and ``proxy.violations``; leaving the block stops it (bounded: 5 s, then forced).
    """

    thread_name = "oms-proxy"

    def __init__(
        self,
        upstream: str,
        profile: Profile | str = Profile.STRICT,
        enforce: bool = False,
        *,
        on_violation: Callable[[Violation], object] | None = None,
        preserve_host: bool = True,
        body_timeout: float = 2.0,
        host: str = "127.0.0.1",
        port: int = 0,
        limits: ConnectionLimits | None = None,
    ) -> None:
        app = ValidatingProxy(
            upstream,
            profile,
            enforce,
            on_violation=on_violation,
            preserve_host=preserve_host,
            body_timeout=body_timeout,
        )
        super().__init__(app, host=host, port=port, limits=limits)
        self.app: ValidatingProxy

    @property
    def violations(self) -> list[Violation]:
        return self.app.violations

    def take_violations(self, side: Side | None = None) -> list[Violation]:
        return self.app.take_violations(side)

    def reset(self) -> None:
        """As if just started, without a restart (:meth:`ValidatingProxy.reset`)."""
        self.app.reset()

    def config(self) -> uvicorn.Config:
        return proxy_config(self.app, limits=self.limits)


def serve_proxy(app: ValidatingProxy, host: str, port: int, on_ready: Callable[[str], Any]) -> int | None:
    """Serve in the foreground until SIGINT or SIGTERM; returns the signal that ended it (None otherwise), so
    the caller still gets to write its report."""
    return serve_foreground(proxy_config(app, log_level="warning", own_logging=True), host, port, on_ready)
