"""The validating proxy as an ASGI app: forward everything, judge both directions, remember the violations.

Why a proxy: the checks test a *server*; a client author needs the converse - "does my client send what the
contract allows, and does it cope with what the server answers?" - while their own code drives the traffic.
The proxy sits between the two and forwards bytes unchanged: the raw path (so ``%2F`` stays encoded and an
empty segment stays empty), the headers (including ``Host``, which an AK/SK signature covers) and the body,
streamed both ways over keep-alive connections. Judging happens beside the forwarding: the request head
before it is sent (so ``enforce`` can answer a bad request locally with the contract's 400), the answer
after its last byte went to the client. Secrets are redacted before anything is stored or printed.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from conformance.proxy.rules import RequestHead, check_request, check_response
from conformance.redact import Redactor
from conformance.results import Exchange
from conformance.server.background import answer_lifespan
from conformance.spec import load_contract
from conformance.transport.http import EXCERPT, MAX_BODY, HttpResult

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]

# RFC 9110 section 7.6.1: meaningful for one connection only, never forwarded.
_HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"proxy-connection",
    }
)
_CLIENT_DEFAULTS = frozenset({b"accept", b"accept-encoding", b"user-agent"})
_SECRET_HEADERS = (b"x-auth-token", b"x-security-token")
# A client that sends a new token with every request must not grow the proxy without bound.
MAX_REMEMBERED_SECRETS = 1000
MAX_VIOLATIONS = 10_000
MAX_LATENCIES = 100_000


@dataclass
class Violation:
    """One finding about live traffic: which side broke which requirement, with redacted evidence."""

    check: str  # "proxy-request" (the client) | "proxy-response" (the upstream)
    requirement: str
    title: str
    message: str  # "Received: ...\nExpected: ..."
    exchange: Exchange
    enforced: bool = False  # answered locally with 400 instead of forwarded

    def line(self) -> str:
        """One line for a live log: requirement, title, the exchange, what was received."""
        received = self.message.split("\n", 1)[0]
        side = "client" if self.check == "proxy-request" else "upstream"
        blocked = " [refused locally]" if self.enforced else ""
        return f"{self.requirement} ({side}) {self.title}: {self.exchange.describe()}{blocked} | {received}"


class ValidatingProxy:
    """ASGI app forwarding to ``upstream`` and judging the traffic against the ``profile``'s contract.

    ``violations`` fills as traffic flows (``on_violation`` is called with each one too, e.g. to print it);
    :meth:`take_violations` hands them over and forgets them; ``requests`` counts requests seen.
    ``preserve_host=False`` sends the upstream's own Host instead of the client's (an AK/SK signature covers
    Host, so only do that with token clients or an upstream that ignores Host).
    """

    def __init__(
        self,
        upstream: str,
        profile: str = "strict",
        enforce: bool = False,
        *,
        on_violation: Callable[[Violation], object] | None = None,
        preserve_host: bool = True,
        timeout: float = 30.0,
    ) -> None:
        base = httpx.URL(upstream)
        if base.scheme not in ("http", "https") or not base.host:
            raise ValueError(f"upstream: expected an http(s) URL, got {upstream!r}")
        self.upstream = upstream
        self.contract = load_contract(profile)
        self.profile = profile
        self.enforce = enforce
        self.preserve_host = preserve_host
        self.timeout = timeout
        self.on_violation = on_violation
        self.violations: list[Violation] = []
        self.dropped_violations = 0
        self.requests = 0
        self.upstream_errors = 0
        self.status_counts: dict[str, int] = {}
        self.latencies_ms: list[float] = []
        self.started_at = time.time()
        self._base = base
        self._prefix = base.raw_path.rstrip(b"/")
        self._lock = threading.Lock()
        self._secrets: list[str] = []
        self._redactor = Redactor()
        self._client: httpx.AsyncClient | None = None

    # -- public helpers --------------------------------------------------------------------------------

    def take_violations(self) -> list[Violation]:
        """The violations so far, forgotten here (a test that expects some takes them before teardown)."""
        with self._lock:
            taken, self.violations = self.violations, []
        return taken

    def secrets(self) -> list[str]:
        """Every credential value seen in traffic so far (for write_reports' leak check)."""
        return list(self._secrets)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- ASGI ------------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await answer_lifespan(receive, send, on_shutdown=self.aclose)

    def _http_client(self) -> httpx.AsyncClient:
        if self._client is None:
            # trust_env=False: an HTTP(S)_PROXY in the environment must not reroute the traffic under test.
            self._client = httpx.AsyncClient(
                timeout=self.timeout,
                follow_redirects=False,
                trust_env=False,
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=100),
            )
        return self._client

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        method: str = scope["method"]
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
        query: bytes = scope.get("query_string", b"")
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        head, findings = check_request(method, raw_path, headers, self.profile)
        self._remember_secrets(headers)
        self.requests += 1
        if findings and self.enforce:
            await self._refuse(send, head, headers, findings, started)
            return
        url = self._base.copy_with(raw_path=self._prefix + raw_path + (b"?" + query if query else b""))
        forwarded = [
            (n, v)
            for n, v in headers
            if n.lower() not in _HOP_BY_HOP and (self.preserve_host or n.lower() != b"host")
        ]
        client = self._http_client()
        request = client.build_request(method, url, headers=forwarded, content=await _body(receive))
        sent_names = {n.lower() for n, _ in forwarded}
        for name in _CLIENT_DEFAULTS - sent_names:  # httpx's defaults; forward only what the client sent
            del request.headers[name.decode()]
        try:
            response = await client.send(request, stream=True)
        except httpx.HTTPError as exc:
            self.upstream_errors += 1
            self._count("error", None)
            if findings:
                self._record(findings, "proxy-request", head, headers, None, [], b"", started, False)
            await _answer(
                send, 502, _envelope("PROXY.0502", f"the upstream did not answer: {type(exc).__name__}")
            )
            return
        kept = bytearray()
        total = 0
        held = b""  # the last chunk waits until the answer is judged, so a client never outruns the verdict
        try:
            out_headers = [(n, v) for n, v in response.headers.raw if n.lower() not in _HOP_BY_HOP]
            await send(
                {"type": "http.response.start", "status": response.status_code, "headers": out_headers}
            )
            async for chunk in response.aiter_raw():
                total += len(chunk)
                if len(kept) < MAX_BODY:
                    kept += chunk[: MAX_BODY - len(kept)]
                if held:
                    await send({"type": "http.response.body", "body": held, "more_body": True})
                held = chunk
            elapsed = (time.perf_counter() - started) * 1000
            self._count(str(response.status_code), elapsed)
            text_headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in response.headers.raw]
            result = HttpResult(
                response.status_code, text_headers, bytes(kept), total > MAX_BODY, elapsed, None, _NO_EVIDENCE
            )
            answer_findings = check_response(
                self.contract, head, result, _credentials(headers), request_timeout=self.timeout
            )
            if findings:
                self._record(
                    findings, "proxy-request", head, headers, result, text_headers, kept, started, False
                )
            if answer_findings:
                self._record(
                    [(r, t, m) for _, r, t, m in answer_findings],
                    "proxy-response",
                    head,
                    headers,
                    result,
                    text_headers,
                    kept,
                    started,
                    False,
                )
            await send({"type": "http.response.body", "body": held})
        finally:
            await response.aclose()

    async def _refuse(
        self,
        send: Send,
        head: RequestHead,
        headers: Sequence[tuple[bytes, bytes]],
        findings: list[tuple[str, str, str]],
        started: float,
    ) -> None:
        body = _envelope("OMS.0064", f"Invalid request parameters: {findings[0][1]}.")
        self._count("400", (time.perf_counter() - started) * 1000)
        answer_headers = [("content-type", "application/json;charset=UTF-8")]
        result = HttpResult(400, answer_headers, body, False, 0.0, None, _NO_EVIDENCE)
        self._record(findings, "proxy-request", head, headers, result, answer_headers, body, started, True)
        await _answer(send, 400, body)

    # -- bookkeeping -----------------------------------------------------------------------------------

    def _count(self, key: str, elapsed_ms: float | None) -> None:
        self.status_counts[key] = self.status_counts.get(key, 0) + 1
        if elapsed_ms is not None and len(self.latencies_ms) < MAX_LATENCIES:
            self.latencies_ms.append(round(elapsed_ms, 3))

    def _remember_secrets(self, headers: Sequence[tuple[bytes, bytes]]) -> None:
        for name, value in headers:
            if name.lower() in _SECRET_HEADERS and value.strip():
                text = value.decode("latin-1")
                if text not in self._secrets and len(self._secrets) < MAX_REMEMBERED_SECRETS:
                    self._secrets.append(text)
                    self._redactor = Redactor((s, "$OMS_TOKEN") for s in self._secrets)

    def _record(
        self,
        findings: Sequence[tuple[str, ...]],
        check: str,
        head: RequestHead,
        headers: Sequence[tuple[bytes, bytes]],
        result: HttpResult | None,
        answer_headers: list[tuple[str, str]],
        body: bytes | bytearray,
        started: float,
        enforced: bool,
    ) -> None:
        redact = self._redactor
        excerpt = bytes(body[:EXCERPT]).decode("utf-8", "replace")
        exchange = Exchange(
            method=head.method,
            url=redact.text(_cut(self.upstream.rstrip("/") + head.raw_path.decode("latin-1"))),
            request_headers=redact.headers((n.decode("latin-1"), v.decode("latin-1")) for n, v in headers),
            status=result.status if result else None,
            response_headers=redact.headers(answer_headers),
            response_body=redact.text(excerpt),
            body_truncated=len(body) > EXCERPT or bool(result and result.truncated),
            elapsed_ms=round((time.perf_counter() - started) * 1000, 3),
            error=None if result else "the upstream did not answer",
        )
        for requirement, title, message in findings:
            violation = Violation(
                check, requirement, redact.text(title), redact.text(message), exchange, enforced
            )
            with self._lock:
                if len(self.violations) >= MAX_VIOLATIONS:
                    self.dropped_violations += 1
                    continue
                self.violations.append(violation)
            if self.on_violation is not None:
                self.on_violation(violation)


# The oracles never read HttpResult.exchange; evidence is built (and redacted) only for a violation.
_NO_EVIDENCE = Exchange(method="", url="", request_headers={})


def _cut(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else f"{text[:limit]}...({len(text)} characters)"


async def _body(receive: Receive) -> bytes | AsyncIterator[bytes]:
    """The request body: bytes when it came in one message (the usual stop: none), else a stream."""
    first = await receive()
    if first["type"] != "http.request" or not first.get("more_body"):
        return bytes(first.get("body", b""))

    async def rest() -> AsyncIterator[bytes]:
        yield first.get("body", b"")
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return
            yield message.get("body", b"")
            if not message.get("more_body"):
                return

    return rest()


def _envelope(code: str, message: str) -> bytes:
    return json.dumps({"error_code": code, "error_msg": message}).encode()


async def _answer(send: Send, status: int, body: bytes) -> None:
    """Answer locally (an enforced refusal, an unreachable upstream) with a JSON error envelope."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json;charset=UTF-8"),
                (b"content-length", b"%d" % len(body)),
                (b"x-request-id", os.urandom(16).hex().encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _credentials(headers: Sequence[tuple[bytes, bytes]]) -> list[str]:
    """The values of this request's credential headers: what its answer must not echo."""
    return [v.decode("latin-1") for n, v in headers if n.lower() in _SECRET_HEADERS and v.strip()]
