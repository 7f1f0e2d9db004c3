"""One request forwarded to the upstream and its answer streamed back - including when the upstream fails.

Why its own module: an upstream that drops, cuts or stalls must still end as one judged, counted exchange,
never as an exception in the ASGI server's log. Each way an exchange can end is a
:class:`~conformance.transport.http.Outcome` on the :class:`HttpResult` the run's own oracles judge, so
``no-server-error`` (STOP-ROBUST) and ``timely`` decide here exactly as they do in ``run``.

What the client gets:

=========================================  ===================================================  ==============
the upstream                               the client                                           judged
=========================================  ===================================================  ==============
answers                                    the answer, byte for byte                            the oracles
cannot be reached (refused, DNS, TLS)      502 ``{"error_code": "PROXY.0502", ...}``            no (noted)
closes or breaks before any status         502 ``{"error_code": "PROXY.0502", ...}``            STOP-ROBUST
sends no status within ``timeout``         504 ``{"error_code": "PROXY.0504", ...}``            STOP-ROBUST,
                                                                                                STOP-TIMELY
breaks or stalls mid-body                  the same status, headers and bytes, then the         STOP-ROBUST
                                           connection is cut - as the upstream did
=========================================  ===================================================  ==============
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from conformance._seams import uvicorn as uvicorn_seam
from conformance.checks.machinery.base import Finding
from conformance.proxy.body import RequestBody
from conformance.proxy.evidence import Request
from conformance.proxy.rules import RequestHead, check_response
from conformance.results import Exchange
from conformance.server.faults import close_connection
from conformance.spec import Contract
from conformance.transport import codings
from conformance.transport.http import MAX_BODY, HttpResult
from conformance.transport.outcome import Outcome, classify, describe_failure

Send = Callable[[dict[str, Any]], Awaitable[None]]

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
# The oracles never read HttpResult.exchange; evidence is built (and redacted) only for a violation.
NO_EVIDENCE = Exchange(method="", url="", request_headers={})


class ConnectionCut(Exception):
    """Raised to an ASGI server other than uvicorn to make it cut the client's connection (ASGI has no
    message for that); under uvicorn the connection is closed directly and nothing is raised."""


@dataclass
class Forwarded:
    """How one forwarded exchange ended; ``finish`` sends the client its last bytes (or cuts it) and is
    called after the exchange is recorded, so that a client never outruns the verdict."""

    result: HttpResult
    findings: list[Finding]  # the upstream's (proxy-response)
    finish: Callable[[], Awaitable[None]]
    unreachable: bool = False  # not judged: no upstream to judge (or the request could not be sent)

    @property
    def key(self) -> str:
        """The entry of status_counts this exchange adds to."""
        return str(self.result.status) if self.result.status is not None else "error"


class Forwarder:
    def __init__(self, base: httpx.URL, contract: Contract, timeout: float, preserve_host: bool) -> None:
        self._base = base
        self._prefix = base.raw_path.rstrip(b"/")
        self._contract = contract
        self._timeout = timeout
        self._preserve_host = preserve_host
        self._client: httpx.AsyncClient | None = None

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _http_client(self) -> httpx.AsyncClient:
        if self._client is None:
            # trust_env=False: an HTTP(S)_PROXY in the environment must not reroute the traffic under test.
            self._client = httpx.AsyncClient(
                timeout=self._timeout,
                follow_redirects=False,
                trust_env=False,
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=100),
            )
        return self._client

    async def exchange(
        self, send: Send, request: Request, query: bytes, head: RequestHead, body: RequestBody, started: float
    ) -> Forwarded:
        """Forward ``request``; a streamed body may raise :class:`~conformance.proxy.body.IncompleteBody`."""
        url = self._base.copy_with(
            raw_path=self._prefix + request.raw_path + (b"?" + query if query else b"")
        )
        forwarded = [
            (n, v)
            for n, v in request.headers
            if n.lower() not in _HOP_BY_HOP and (self._preserve_host or n.lower() != b"host")
        ]
        client = self._http_client()
        built = client.build_request(request.method, url, headers=forwarded, content=body.content())
        for name in _CLIENT_DEFAULTS - {n.lower() for n, _ in forwarded}:  # forward only what the client sent
            del built.headers[name.decode()]
        try:
            response = await client.send(built, stream=True)
        except (httpx.HTTPError, OSError) as exc:
            outcome, detail = classify(exc, status_seen=False)
            failed = self._no_status(send, request, head, started, outcome, detail)
            if outcome in (Outcome.CONNECT_FAILED, Outcome.NOT_SENT):
                # Nothing to judge: no upstream listens there, or the request could not be put on the wire.
                return Forwarded(failed.result, [], failed.finish, unreachable=True)
            return failed
        return await self._stream_back(send, request, head, response, started)

    async def _stream_back(
        self, send: Send, request: Request, head: RequestHead, response: httpx.Response, started: float
    ) -> Forwarded:
        kept = bytearray()
        total = 0
        # The head and the last chunk wait until the answer is judged, so that no client - not even one
        # reading an empty body - can finish the exchange before its verdict is recorded.
        out_headers = [(n, v) for n, v in response.headers.raw if n.lower() not in _HOP_BY_HOP]
        begin = {"type": "http.response.start", "status": response.status_code, "headers": out_headers}
        pending: list[dict[str, Any]] = [begin]
        held = b""
        outcome, detail = Outcome.ANSWERED, ""
        try:
            async for chunk in response.aiter_raw():
                total += len(chunk)
                if len(kept) < MAX_BODY:
                    kept += chunk[: MAX_BODY - len(kept)]
                if held:
                    pending.append({"type": "http.response.body", "body": held, "more_body": True})
                    for message in pending:
                        await send(message)
                    pending = []
                held = chunk
        except (httpx.HTTPError, OSError) as exc:
            outcome, detail = classify(exc, status_seen=True)
        finally:
            await response.aclose()
        elapsed = (time.perf_counter() - started) * 1000
        text_headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in response.headers.raw]
        answered = outcome is Outcome.ANSWERED
        # The client gets the bytes as they came; the oracles judge what the application sent (decoded).
        complete = answered and total <= MAX_BODY
        decoded = codings.decode(
            bytes(kept), response.headers.get("content-encoding"), MAX_BODY, complete=complete
        )
        result = HttpResult(
            response.status_code,
            text_headers,
            decoded.body,
            total > MAX_BODY or not answered or decoded.truncated,
            elapsed,
            None if answered else describe_failure(outcome, detail, self._timeout),
            NO_EVIDENCE,
            outcome,
            decoded.coding,
            decoded.problem,
            decoded.unsupported,
        )

        async def finish() -> None:
            for message in pending:
                await send(message)
            if answered:
                await send({"type": "http.response.body", "body": held})
                return
            if held:
                await send({"type": "http.response.body", "body": held, "more_body": True})
            await cut(send)

        return Forwarded(result, self._judge(request, head, result), finish)

    def _no_status(
        self, send: Send, request: Request, head: RequestHead, started: float, outcome: Outcome, detail: str
    ) -> Forwarded:
        elapsed = (time.perf_counter() - started) * 1000
        error = describe_failure(outcome, detail, self._timeout)
        result = HttpResult(None, [], b"", False, elapsed, error, NO_EVIDENCE, outcome)
        status, code = (504, "PROXY.0504") if outcome is Outcome.TIMED_OUT else (502, "PROXY.0502")
        body = envelope(code, f"the upstream did not answer: {error}")

        async def finish() -> None:
            await answer_locally(send, status, body)

        return Forwarded(result, self._judge(request, head, result), finish)

    def _judge(self, request: Request, head: RequestHead, result: HttpResult) -> list[Finding]:
        return check_response(
            self._contract, head, result, request.credentials, request_timeout=self._timeout
        )


async def cut(send: Send) -> None:
    """Cut the client's connection, as the upstream cut ours."""
    if uvicorn_seam.cycle_of(send) is None:
        raise ConnectionCut("the upstream cut its answer")
    await close_connection(send)


def envelope(code: str, message: str) -> bytes:
    return json.dumps({"error_code": code, "error_msg": message}).encode()


async def answer_locally(send: Send, status: int, body: bytes, *, close: bool = False) -> None:
    """Answer with a JSON error envelope of the proxy's own (``close``: the connection ends after it)."""
    headers = [
        (b"content-type", b"application/json;charset=UTF-8"),
        (b"content-length", b"%d" % len(body)),
        (b"x-request-id", os.urandom(16).hex().encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
