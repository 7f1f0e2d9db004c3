"""The validating proxy: test a *client* of the stop operation by watching its real traffic.

Put it between a client and any upstream (the reference server, a staging endpoint, a mock); it forwards
everything unchanged and reports, per requirement ID, what the client sent that the contract does not
allow and what the upstream answered that it does not allow. With ``enforce`` an invalid request is
answered locally with the contract's 400 envelope instead of being forwarded. Layers: rules (pure
judging; the answer side reuses the run's response oracles) -> evidence (violations, redacted per
exchange), body (reading a request body, bounded) and forward (one exchange with the upstream, failures
included) -> app (ASGI) -> http_layer (uvicorn's parser rejections) and runner (uvicorn) -> report (a
RunResult for :func:`conformance.reports.write_reports`). Nothing here imports the CLI.

Public API::

    ValidatingProxy(upstream, profile="strict", enforce=False, *, on_violation=None, preserve_host=True,
                    timeout=30.0, body_timeout=2.0)
        # ASGI app: .violations, .take_violations(side=None), .requests, .status_counts, .secrets()
    ProxyServer(upstream, profile="strict", enforce=False, *, body_timeout=2.0, host="127.0.0.1", port=0)
        # context manager in a thread: .base_url, .app, .violations, .take_violations(side=None)
    Violation      # check, failure (the report's Failure: its fields), enforced;
                   # .requirement, .title, .exchange, .side (client/server); .line()
    proxy_run_result(proxy) -> RunResult
"""

from conformance.proxy.app import ValidatingProxy
from conformance.proxy.evidence import Violation
from conformance.proxy.report import proxy_run_result
from conformance.proxy.serving import ProxyServer, serve_proxy

__all__ = ["ProxyServer", "ValidatingProxy", "Violation", "proxy_run_result", "serve_proxy"]
