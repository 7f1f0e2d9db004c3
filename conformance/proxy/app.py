"""The validating proxy as an ASGI app: forward everything, judge both directions, account for every exchange.

Why a proxy: the checks test a *server*; a client author needs the converse - "does my client send what the
contract allows, and does it cope with what the server answers?" - while their own code drives the traffic.
The proxy sits between the two and forwards bytes unchanged: the raw path (so ``%2F`` stays encoded and an
empty segment stays empty), the headers (including ``Host``, which an AK/SK signature covers) and the body,
streamed both ways over keep-alive connections. Judging happens beside the forwarding: the request head
before it is sent (so ``enforce`` can answer a bad request locally with the contract's 400), the answer
after its last byte went to the client. Evidence is redacted per exchange (:mod:`.evidence`).

Every request ends in exactly one entry of ``status_counts`` - so a report's request count is what clients
sent - whatever happens: an answer forwarded, a local refusal, an upstream that fails (:mod:`.forward`), a
body that never completes (:mod:`.body`) or a head the HTTP parser refused (:mod:`.http_layer`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal

import httpx

from conformance.checks.machinery.base import Finding
from conformance.proxy.body import IncompleteBody, RequestBody, announced_length, read_body
from conformance.proxy.evidence import RecentCredentials, Request, Side, Violation, build_violations
from conformance.proxy.forward import NO_EVIDENCE, Forwarder, answer_locally, envelope
from conformance.proxy.http_layer import BROKEN_FRAMING, parse_head
from conformance.proxy.rules import (
    RequestHead,
    broken_framing,
    check_body,
    check_rejected_head,
    check_request,
    incomplete_body,
)
from conformance.server.background import answer_lifespan
from conformance.spec import Profile, load_contract
from conformance.transport.http import HttpResult

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
Findings = list[Finding]
_COUNTED = "oms_proxy.counted"  # set in a request's scope once it is counted

MAX_VIOLATIONS = 10_000
MAX_LATENCIES = 100_000
_JSON = [("content-type", "application/json;charset=UTF-8")]


class ValidatingProxy:
    """ASGI app forwarding to ``upstream`` and judging the traffic against the ``profile``'s contract.

    ``violations`` fills as traffic flows (``on_violation`` is called with each one too, e.g. to print it);
    :meth:`take_violations` hands them over and forgets them; ``requests`` counts requests seen.
    ``preserve_host=False`` sends the upstream's own Host instead of the client's (an AK/SK signature covers
    Host, so only do that with token clients or an upstream that ignores Host). ``timeout`` bounds each
    wait for the upstream; ``body_timeout`` each wait for more of a client's request body.
    """

    def __init__(
        self,
        upstream: str,
        profile: Profile | str = Profile.STRICT,
        enforce: bool = False,
        *,
        on_violation: Callable[[Violation], object] | None = None,
        preserve_host: bool = True,
        timeout: float = 30.0,
        body_timeout: float = 2.0,
    ) -> None:
        base = httpx.URL(upstream)
        if base.scheme not in ("http", "https") or not base.host:
            raise ValueError(f"upstream: expected an http(s) URL, got {upstream!r}")
        self.upstream = upstream
        self.contract = load_contract(profile)
        self.profile = self.contract.profile
        self.enforce = enforce
        self.timeout = timeout
        self.body_timeout = body_timeout
        self.on_violation = on_violation
        self._lock = threading.Lock()
        self._clear()
        self._forwarder = Forwarder(base, self.contract, timeout, preserve_host)

    # -- public helpers --------------------------------------------------------------------------------

    def reset(self) -> None:
        """No violations, counters at 0, no credentials remembered: as if just started, while serving
        (the pytest plugin's per-test reset; the upstream connections are kept)."""
        with self._lock:
            self._clear()

    def _clear(self) -> None:
        self.violations: list[Violation] = []
        self.dropped_violations = 0
        self.requests = 0
        self.upstream_errors = 0  # requests the upstream could not be reached for (answered 502)
        self.status_counts: dict[str, int] = {}
        self.latencies_ms: list[float] = []
        self.started_at = time.time()
        self._recent = RecentCredentials()

    def take_violations(self, side: Side | None = None) -> list[Violation]:
        """The violations so far (of one ``side``: "client" or "server", or both), forgotten here.

        A test that expects some takes them before teardown; one that injects server faults on purpose
        takes ``side="server"`` and leaves its client's violations to be judged."""
        with self._lock:
            taken = [v for v in self.violations if side is None or v.side == side]
            self.violations = [v for v in self.violations if side is not None and v.side != side]
        return taken

    def secrets(self) -> list[str]:
        """The credentials the kept evidence was redacted for (for write_reports' leak check)."""
        with self._lock:
            kept = {s for v in self.violations for s in v.secrets}
        return sorted(kept | set(self._recent.values()))

    async def aclose(self) -> None:
        await self._forwarder.aclose()

    # -- ASGI ------------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await answer_lifespan(receive, send, on_shutdown=self.aclose)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        request = _request(scope)
        headers = request.headers
        head, findings = check_request(request.method, request.raw_path, headers, self.profile)
        self._recent.note(request.credentials)
        self._arrived(scope)
        if findings and self.enforce:
            await self._refuse(send, request, findings, started)
            return
        try:
            body = await read_body(receive, self.body_timeout, announced_length(headers))
        except IncompleteBody as incomplete:
            await self._incomplete(scope, send, request, findings, incomplete, started)
            return
        if body.complete is not None:
            findings = findings + check_body(head, headers, body.complete)
        if findings and self.enforce:
            await self._refuse(send, request, findings, started)
            return
        await self._forward(scope, send, request, head, findings, body, started)

    async def _forward(
        self,
        scope: Scope,
        send: Send,
        request: Request,
        head: RequestHead,
        findings: Findings,
        body: RequestBody,
        started: float,
    ) -> None:
        query: bytes = scope.get("query_string", b"")
        try:
            outcome = await self._forwarder.exchange(send, request, query, head, body, started)
        except IncompleteBody as incomplete:
            await self._incomplete(scope, send, request, findings, incomplete, started)
            return
        if outcome.unreachable:
            self.upstream_errors += 1
        self._count(outcome.key, outcome.result.elapsed_ms if outcome.result.status is not None else None)
        if findings:
            self._record(findings, "proxy-request", request, outcome.result, started)
        if outcome.findings:
            self._record(outcome.findings, "proxy-response", request, outcome.result, started)
        await outcome.finish()

    async def _refuse(self, send: Send, request: Request, findings: Findings, started: float) -> None:
        body = envelope("OMS.0064", f"Invalid request parameters: {findings[0].headline}.")
        self._count("400", (time.perf_counter() - started) * 1000)
        self._record(findings, "proxy-request", request, _local(body), started, enforced=True)
        await answer_locally(send, 400, body)

    async def _incomplete(
        self,
        scope: Scope,
        send: Send,
        request: Request,
        findings: Findings,
        incomplete: IncompleteBody,
        started: float,
    ) -> None:
        """The client's body stalled or closed early; or it broke framing (then all is done: see below)."""
        if scope.get(BROKEN_FRAMING):
            return  # the HTTP layer answered 400 and recorded it (rejected_body)
        findings = findings + incomplete_body(incomplete.describe(self.body_timeout))
        if not incomplete.stalled:  # nobody is left to answer
            self._count("error", None)
            self._record(findings, "proxy-request", request, None, started)
            return
        answer = envelope("OMS.0064", "Invalid request parameters: the request body is incomplete.")
        self._count("400", (time.perf_counter() - started) * 1000)
        self._record(findings, "proxy-request", request, _local(answer), started, enforced=True)
        # The rest of the body may still come: this connection cannot carry another request.
        await answer_locally(send, 400, answer, close=True)

    # -- the HTTP layer's requests (conformance.proxy.http_layer.RejectionSink) -----------------------

    def rejected_head(self, raw: bytes) -> bytes:
        parsed = parse_head(raw)
        _, findings = check_rejected_head(parsed, self.profile)
        method, target, headers = parsed if parsed is not None else (raw[:16].decode("latin-1"), b"", [])
        request = Request(method, target.partition(b"?")[0], headers)
        self._recent.note(request.credentials)
        self.requests += 1
        self._count("400", None)
        answer = envelope("OMS.0064", f"Invalid request parameters: {findings[0].headline}.")
        self._record(findings, "proxy-request", request, _local(answer), time.perf_counter(), True)
        return answer

    def rejected_body(self, scope: Scope) -> bytes:
        self._arrived(scope)
        request = _request(scope)
        _, findings = check_request(request.method, request.raw_path, request.headers, self.profile)
        findings += broken_framing("a body that is not valid HTTP/1.1 framing (e.g. a bad chunk)")
        self._count("400", None)
        answer = envelope("OMS.0064", "Invalid request parameters: the request is not valid HTTP/1.1.")
        self._record(findings, "proxy-request", request, _local(answer), time.perf_counter(), True)
        scope[BROKEN_FRAMING] = True
        return answer

    def _arrived(self, scope: Scope) -> None:
        """Count the request of ``scope`` once, whichever of the app and the HTTP layer sees it first."""
        if not scope.get(_COUNTED):
            scope[_COUNTED] = True
            self.requests += 1

    # -- bookkeeping -----------------------------------------------------------------------------------

    def _count(self, key: str, elapsed_ms: float | None) -> None:
        self.status_counts[key] = self.status_counts.get(key, 0) + 1
        if elapsed_ms is not None and len(self.latencies_ms) < MAX_LATENCIES:
            self.latencies_ms.append(round(elapsed_ms, 3))

    def _record(
        self,
        findings: Sequence[Finding],
        check: Literal["proxy-request", "proxy-response"],
        request: Request,
        result: HttpResult | None,
        started: float,
        enforced: bool = False,
    ) -> None:
        elapsed = (time.perf_counter() - started) * 1000
        recent = self._recent.values()
        made = build_violations(findings, check, request, self.upstream, result, elapsed, recent, enforced)
        for violation in made:
            with self._lock:
                if len(self.violations) >= MAX_VIOLATIONS:
                    self.dropped_violations += 1
                    continue
                self.violations.append(violation)
            if self.on_violation is not None:
                self.on_violation(violation)


def _request(scope: Scope) -> Request:
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
    return Request(scope["method"], raw_path.partition(b"?")[0], scope["headers"])


def _local(body: bytes) -> HttpResult:
    """The proxy's own answer, as the evidence of a violation it answered itself."""
    return HttpResult(400, list(_JSON), body, False, 0.0, None, NO_EVIDENCE)
