"""The one HTTP client every check sends through: bounded in time and size, never following redirects.

Why these choices:
- Each request has a *total* deadline (``request_timeout``), not only per-read timeouts, so a server that
  trickles bytes cannot stall the run.
- At most ``MAX_BODY`` bytes of a response are read; the rest is dropped and the excerpt says so.
- Every body is judged as the application sent it: its content coding (gzip, deflate) is undone in
  :meth:`Client.result`, the one place every way of sending ends in, and named in the evidence
  (transport/codings.py). Only codings that can be undone are advertised.
- Redirects are never followed: a 3xx is an answer to judge, and following it could hand the credential
  to another host.
- Every request is paced here (``transport/pace.py``: ``--rate-limit`` and the 429 back-off), so no
  request of a run can go around the pace.
- A request names whose credential it carries (``auth=``); the client attaches it when the final host,
  path and body are known (:meth:`Client.prepare`, transport/auth.py), so a signature covers what is sent.
  Callers build paths with spec/paths.py (the contract's paths, each id percent-encoded as one segment).
- One transport sends every request of a client, chosen once (transport/transports.py): for a socket
  target, the client's own keep-alive connections on h11 (transport/h1.py) with the header list httpx
  builds - the bytes httpx would send, without its ~3 ms of CPU per request that made a deep fuzz run
  measure the client, and following RFC 9112 §9: an idle close that crosses a request is not an answer;
  httpx itself where those cannot send as it would (cookies, paths it would rewrite) and for every request
  of an in-process target (tests). Both go through the one proxy the client chose (transport/proxies.py).
- How an exchange ended is classified once, for every path (transport/outcome.py).
"""

from __future__ import annotations

import asyncio
import os
import ssl
import time
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from conformance.redact import Redactor
from conformance.results import Exchange
from conformance.target import ClientCertificate
from conformance.transport import codings, h1, keepalive
from conformance.transport.answer import NOT_JSON, HttpResult, curl_line, header_list, shorten
from conformance.transport.auth import Auth, attach
from conformance.transport.outcome import (
    Outcome,
    certificate_refused,
    classify,
    describe_failure,
    send_failures,
)
from conformance.transport.pace import MAX_429_RETRIES, Pacer
from conformance.transport.proxies import choose_proxy
from conformance.transport.request_head import CLIENT_HEADERS
from conformance.transport.tls import default_context, load_client_certificate, tls_setting
from conformance.transport.transports import (
    H1Transport,
    HeaderBuilder,
    HttpxTransport,
    Request,
    Transport,
    Wire,
    header_builder,
    plain_path,
    wire,
)

if TYPE_CHECKING:
    import httpx

__all__ = ["MAX_BODY", "NOT_JSON", "Client", "HttpResult", "Outcome", "Request", "describe_failure"]

MAX_BODY = 256 * 1024
EXCERPT = 2048


class Client:
    """Sends a run's requests: attaches each one's credential (transport/auth.py), paces it, and sends it
    through the transport chosen for the base URL (transport/transports.py)."""

    def __init__(
        self,
        base_url: str,
        redactor: Redactor,
        *,
        request_timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: bool | str = True,
        rate_limit: float | None = None,
        pacer: Pacer | None = None,
        on_exchange: Callable[[int | None, float], None] | None = None,
        client_certificate: ClientCertificate | None = None,
        proxy: str | None = None,
        proxy_source: str = "--proxy",
    ) -> None:
        """``transport``: an in-process httpx transport (tests): every request then goes through httpx."""
        self.base_url = base_url.rstrip("/")
        # What a credential is attached for: the Host header and the path as the server will see it.
        self.host = urlsplit(self.base_url).netloc
        self.path_prefix = urlsplit(self.base_url).path
        self.redactor = redactor
        self.request_timeout = request_timeout
        # An in-process transport (tests) has no sockets: the race (transport/race.py) cannot run over it.
        self.in_process = transport is not None
        tls = tls_setting(verify)
        # The context httpx would make of a bool, so that our own connections trust the same CAs: made when
        # a connection first needs it (loading the CA store costs ~35 ms of CPU; an http target never
        # does), at once for a client certificate (its errors are the configuration's, said before any
        # request). Not for in-process clients: they never use TLS.
        self._tls = tls
        self._client_certificate = client_certificate
        if client_certificate is not None:
            self.ssl_context  # noqa: B018 - made now, for its errors
        # Whose TLS certificate was refused and why, once one was (outcome.certificate_refused).
        self.certificate_refused: tuple[str, str] | None = None
        # ``proxy``: --proxy / the target file's (None: the environment's, "none": no proxy); decided once,
        # for every way of sending (transport/proxies.py). An in-process target has no network to cross.
        self.proxy = (
            None
            if self.in_process
            else choose_proxy(self.base_url, proxy, os.environ, setting_source=proxy_source)
        )
        self._transport_for_tests = transport
        # httpx's client is made (and httpx imported) when a request first goes through it: every request of
        # an in-process target, and what our own connections cannot send as httpx would (transports.py).
        self.httpx = HttpxTransport(self._make_httpx_client)
        self.sent = 0
        self.pacer = pacer or Pacer(rate_limit)
        # Told of every exchange as it ends (its status, None for none, and milliseconds), whichever way it
        # was sent (the race, preflight, 429 retries, restore): the run's one request count, status
        # histogram and latencies are made from these.
        self.on_exchange = on_exchange
        self.transport = self._choose_transport()

    @cached_property
    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context of the target's connections, and httpx's: ``verify``'s, with the client
        certificate; None for an in-process client given a bool (it never uses TLS)."""
        tls = self._tls
        if isinstance(tls, bool) and (self._client_certificate or not self.in_process):
            tls = default_context(tls)
        context = tls if isinstance(tls, ssl.SSLContext) else None
        if self._client_certificate is not None and context is not None:
            load_client_certificate(context, self._client_certificate)
        return context

    def _make_httpx_client(self) -> httpx.AsyncClient:
        import httpx

        return httpx.AsyncClient(
            transport=self._transport_for_tests,
            # The proxy chosen above, and nothing of the environment's (trust_env would apply its own).
            proxy=self.proxy.url if self.proxy else None,
            trust_env=False,
            verify=self._tls if self.ssl_context is None else self.ssl_context,
            follow_redirects=False,
            timeout=httpx.Timeout(self.request_timeout),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
            # Only the codings transport/codings.py undoes: httpx's default would add br and zstd whenever
            # their packages happen to be installed.
            headers=dict(CLIENT_HEADERS),
        )

    @cached_property
    def _headers_of(self) -> HeaderBuilder:
        return header_builder(self.httpx, self.base_url)

    @property
    def reopened(self) -> int:
        """Requests sent again on a new connection after an idle close crossed them (RFC 9112 §9.3.1)."""
        return self.transport.reopened

    def open_ahead(self, count: int) -> None:
        """Open the new connections of ``count`` requests that may not be repeated and are about to go
        (transport/ahead.py): taken if they go within its bound, else closed unused. Nothing where the
        client has no connections of its own (httpx, an in-process target)."""
        if isinstance(self.transport, H1Transport):
            for _ in range(count):
                self.transport.pool.ahead.opened(renew=False)

    def _choose_transport(self) -> Transport:
        """Connections of our own (transport/h1.py) where they send what httpx would: a socket target over
        http(s) (through the client's proxy, if any), a base path httpx leaves as it is. Else httpx sends
        everything."""
        parts = urlsplit(self.base_url)
        if self.in_process or parts.scheme not in ("http", "https") or not parts.hostname:
            return self.httpx
        if not plain_path(self.path_prefix) or parts.query or parts.fragment:
            return self.httpx
        return H1Transport(keepalive.Pool(*self._address(), self.proxy), self.httpx, self.base_url)

    def _address(self) -> tuple[str, int, ssl.SSLContext | None]:
        """Host, port and TLS context of the target's connections (a proxy, if any, is asked for them)."""
        parts = urlsplit(self.base_url)
        tls = parts.scheme == "https"
        return parts.hostname or "", parts.port or (443 if tls else 80), self.ssl_context if tls else None

    async def aclose(self) -> None:
        await self.transport.aclose()

    def prepare(
        self,
        method: str,
        path: str,
        headers: Sequence[tuple[str, str]] = (),
        *,
        auth: Auth = None,
        body: bytes = b"",
        replay_safe: bool = True,
        content_length: bool = True,
    ) -> Request:
        """The request as it goes out: ``path`` below the base URL (spec/paths.py builds it), ``auth``'s
        credential attached for the final host, path and body (transport/auth.py)."""
        target = self.path_prefix + path
        return Request(
            method,
            self.base_url + path,
            target,
            attach(auth, method, self.host, target, headers, body),
            body,
            content_length=content_length,
            replay_safe=replay_safe,
        )

    def wire(self, request: Request) -> Wire:
        """``request`` as our own connections write it (the race's, too: transport/race.py)."""
        return wire(self._headers_of, request, self.base_url, self.proxy)

    async def connect(self) -> h1.Connection:
        """A new connection to the target, the way every request of the client goes (through its proxy):
        the one place code that writes to its own connections (the race, one_connection) opens them."""
        return await h1.connect(*self._address(), self.proxy)

    async def send(
        self,
        method: str,
        path: str,
        headers: Sequence[tuple[str, str]] = (),
        *,
        auth: Auth = None,
        body: bytes = b"",
        replay_safe: bool = True,
        content_length: bool = True,
    ) -> HttpResult:
        """Send at the run's pace; a 429 is waited out and the request sent again (``MAX_429_RETRIES``).

        ``auth``: whose credential the request carries (transport/auth.py). ``replay_safe=False`` for a
        request that could pause a listed group: it goes on a new connection, so that an idle close can
        never leave its fate in doubt (transport/h1.py). ``content_length=False`` sends an empty body with
        no Content-Length at all, as curl's ``-X PUT`` does.
        """
        attempt = 0
        while True:
            sent_at = await self.pacer.reserve()
            # Prepared for each attempt: an AK/SK signature is dated, as the SDK's is for each request.
            request = self.prepare(
                method,
                path,
                headers,
                auth=auth,
                body=body,
                replay_safe=replay_safe,
                content_length=content_length,
            )
            result = await self._send_once(request)
            if result.status != 429:
                self.pacer.answered()
                return result
            if attempt >= MAX_429_RETRIES:
                return result
            attempt += 1
            wait = self.pacer.throttled(
                method, result.exchange.url, result.header("retry-after"), attempt, sent_at
            )
            await self.pacer.sleep(wait)

    async def _send_once(self, request: Request) -> HttpResult:
        self.sent += 1
        started = time.perf_counter()
        reply = h1.Answer(MAX_BODY)
        outcome, detail = Outcome.ANSWERED, ""
        try:
            async with asyncio.timeout(self.request_timeout):
                await self.transport.send(request, reply)
        except Exception as exc:
            if not isinstance(exc, send_failures()):
                raise  # a bug of ours, not the exchange's failure
            outcome, detail = classify(exc, status_seen=reply.status is not None)
            self.certificate_refused = self.certificate_refused or certificate_refused(exc)
        elapsed_ms = (time.perf_counter() - started) * 1000
        return self.result(request, reply, elapsed_ms, outcome, detail)

    def result(
        self,
        request: Request,
        reply: h1.Answer,
        elapsed_ms: float,
        outcome: Outcome,
        detail: str = "",
    ) -> HttpResult:
        """An exchange as checks judge it, with its redacted evidence: one rule for every way of sending.

        The evidence is made (and redacted) when first read: most answers of a deep fuzz are judged and
        counted but never shown, and redacting one cost more than judging it (docs/benchmarks.md). It is
        made with this client's redactor as it is then, which only ever learns more secrets."""
        raw, truncated = reply.body[:MAX_BODY], reply.truncated
        error = None
        if outcome is not Outcome.ANSWERED:
            error = describe_failure(outcome, detail, self.request_timeout)
            if reply.status is not None:
                truncated = True  # headers arrived but the body did not: judge what came, say what went wrong
        decoded = codings.decode(
            raw, header_list(reply.headers, "content-encoding"), MAX_BODY, complete=reply.complete
        )
        body, truncated = decoded.body, truncated or decoded.truncated
        if self.on_exchange is not None:
            self.on_exchange(reply.status, round(elapsed_ms, 2))

        def evidence() -> Exchange:
            redact, method = self.redactor, request.method
            text = redact.text(body.decode("utf-8", "replace"))
            shown_url, shown_headers = (
                redact.text(request.url),
                redact.headers(request.headers),
            )  # once: evidence and curl line
            return Exchange(
                method=method,
                url=shown_url,
                request_headers={name: shorten(value) for name, value in shown_headers.items()},
                status=reply.status,
                response_headers=redact.headers(reply.headers),
                response_body=text[:EXCERPT],
                body_truncated=truncated or len(text) > EXCERPT,
                elapsed_ms=round(elapsed_ms, 2),
                error=redact.text(error) if error else None,
                outcome=outcome.value,
                curl=curl_line(method, shown_url, shown_headers),
                content_coding=decoded.coding
                + (f" (not undone: {decoded.problem})" if decoded.problem else ""),
                written=reply.written,
            )

        return HttpResult(
            reply.status,
            reply.headers,
            body,
            truncated,
            elapsed_ms,
            error,
            evidence,
            outcome,
            decoded.coding,
            decoded.problem,
            decoded.unsupported,
        )
