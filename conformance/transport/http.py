"""The one HTTP client every check sends through: bounded in time and size, never following redirects.

Why these choices:
- Each request has a *total* deadline (``request_timeout``), not only per-read timeouts, so a server that
  trickles bytes cannot stall the run.
- At most ``MAX_BODY`` bytes of a response are read; the rest is dropped and the excerpt says so.
- Redirects are never followed: a 3xx is an answer to judge, and following it could hand the credential
  to another host.
- Every request is paced here (``transport/pace.py``: ``--rate-limit`` and the 429 back-off), so no
  request of a run can go around the pace.
- Paths are built from raw segments here, percent-encoding every reserved character (and ``.``/``..``
  segments, which clients would otherwise normalise away), so an id reaches the server as one segment.
- Requests to a socket target go over the client's own keep-alive connections (``transport/wire.py``): the
  bytes httpx would send, without its ~3 ms of CPU per request that made a deep fuzz run measure the client.
"""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from urllib.parse import quote, urlsplit
from urllib.request import getproxies

import h11
import httpx

from conformance.errors import UsageError
from conformance.redact import Redactor
from conformance.results import Exchange
from conformance.transport.pace import MAX_429_RETRIES, Pacer
from conformance.transport.response import Answer
from conformance.transport.wire import ConnectFailed, Origin, ReadError

MAX_BODY = 256 * 1024
NOT_JSON = object()  # HttpResult.json of a body that does not parse
EXCERPT = 2048
# A path httpx sends exactly as given holds only unreserved characters, "/" and %XX escapes (what
# encode_segment makes), and no "." or ".." segment: its re-quoting and dot-segment removal leave it alone.
_NOT_PLAIN = re.compile(r"[^A-Za-z0-9\-._~/%]|%(?![0-9A-Fa-f]{2})")  # a search, not a match per character
MAX_URL_LENGTH = 65536  # httpx refuses longer URLs (InvalidURL): those requests still go through it


class Outcome(StrEnum):
    """How an exchange ended. Verdicts branch on this, never on the text of ``HttpResult.error``::

    ANSWERED         a complete answer (a body longer than MAX_BODY is cut by us: still answered)
    CUT_OFF          status and headers came, then the connection failed mid-body
    DROPPED          connected, then the connection closed or broke before any status
    TIMED_OUT        no complete answer within the request timeout (a status may have come)
    CONNECT_FAILED   no connection could be made (refused, DNS, TLS handshake)
    NOT_SENT         the HTTP client refused to build or send the request (e.g. a byte HTTP forbids)
    """

    ANSWERED = "answered"
    CUT_OFF = "cut_off"
    DROPPED = "dropped"
    TIMED_OUT = "timed_out"
    CONNECT_FAILED = "connect_failed"
    NOT_SENT = "not_sent"

    @property
    def server_failed(self) -> bool:
        """The server (or what stands in front of it) broke the exchange: a robustness finding."""
        return self in (Outcome.CUT_OFF, Outcome.DROPPED)

    @property
    def inconclusive(self) -> bool:
        """Nothing about the request can be concluded from this exchange."""
        return self is not Outcome.ANSWERED


def describe_failure(outcome: Outcome, detail: str, timeout: float) -> str:
    """The display text of a failed exchange; verdicts never read it (a test rewrites it)."""
    if outcome is Outcome.TIMED_OUT:
        return f"no complete answer within {timeout:g}s"
    if outcome is Outcome.NOT_SENT:
        return f"not sent: the HTTP client refused the request ({detail})"
    if outcome is Outcome.CONNECT_FAILED:
        return f"connection failed: {detail}"
    return detail


def encode_segment(value: str) -> str:
    if value in (".", ".."):
        return value.replace(".", "%2E")
    return quote(value, safe="")


def stop_path(project_id: str, group_id: str, *, suffix: str = "/stop") -> str:
    return f"/v2/{encode_segment(project_id)}/taskgroups/{encode_segment(group_id)}{suffix}"


@dataclass
class HttpResult:
    """An answer, unredacted: what the checks judge. ``exchange`` is the redacted evidence."""

    status: int | None
    headers: list[tuple[str, str]]
    body: bytes
    truncated: bool
    elapsed_ms: float
    error: str | None  # display text of a failed exchange; branch on ``outcome``, never on this
    exchange: Exchange = field(repr=False)
    outcome: Outcome = Outcome.ANSWERED

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((value for key, value in self.headers if key.lower() == name), None)

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").lower()

    @cached_property
    def json(self) -> object:
        """The body parsed as JSON - once, however many checks read it - or NOT_JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return NOT_JSON

    def json_field(self, name: str) -> object:
        """A field of a JSON object body; None when the body is no JSON object or lacks it."""
        return self.json.get(name) if isinstance(self.json, dict) else None


def _curl(method: str, url: str, headers: dict[str, str]) -> str:
    parts = ["curl", "-sS", "-X", method, "--path-as-is"]
    for name, value in headers.items():
        if name.lower() in ("user-agent", "content-length"):
            continue
        if value.startswith("$OMS_") and " " not in value:
            parts += ["-H", f'"{name}: {value}"']  # double quotes so the shell expands the placeholder
            continue
        if len(value) > 64 and len(set(value)) == 1:  # a boundary value: rebuild it instead of printing it
            parts += ["-H", f"\"{name}: $(printf '%{len(value)}s' | tr ' ' {shlex.quote(value[0])})\""]
            continue
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    parts.append(shlex.quote(url))
    return " ".join(parts)


class Client:
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
    ) -> None:
        self.base_url = base_url.rstrip("/")
        # What AK/SK signing needs: the Host header and the path as the server will see it.
        self.host = urlsplit(self.base_url).netloc
        self.path_prefix = urlsplit(self.base_url).path
        self.redactor = redactor
        self.request_timeout = request_timeout
        # An in-process transport (tests) has no sockets: the race (transport/race.py) cannot run over it.
        self.in_process = transport is not None
        tls = _tls(verify)
        if isinstance(tls, bool) and not self.in_process:
            # The context httpx would make of the bool, made here so that the race trusts the same CAs.
            # Not for in-process clients: loading a CA store costs ~0.2 s and they never use TLS.
            tls = httpx.create_ssl_context(verify=tls)
        self.ssl_context = tls if isinstance(tls, ssl.SSLContext) else None
        self._client = httpx.AsyncClient(
            transport=transport,
            verify=tls,
            follow_redirects=False,
            timeout=httpx.Timeout(request_timeout),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
            headers={"User-Agent": "oms-conformance"},
        )
        self.sent = 0
        self.pacer = pacer or Pacer(rate_limit)
        self._wire = self._origin()

    def _origin(self) -> Origin | None:
        """Connections of our own (transport/wire.py) where they send what httpx would: a socket target over
        http(s), no proxy from the environment (httpx would use it), a base path httpx leaves as it is."""
        parts = urlsplit(self.base_url)
        if self.in_process or getproxies() or parts.scheme not in ("http", "https") or not parts.hostname:
            return None
        if not _plain_path(self.path_prefix) or parts.query or parts.fragment:
            return None
        tls = parts.scheme == "https"
        return Origin(parts.hostname, parts.port or (443 if tls else 80), self.ssl_context if tls else None)

    async def aclose(self) -> None:
        if self._wire is not None:
            self._wire.close()
            await asyncio.sleep(0)  # let the closed transports release their sockets before the loop ends
        await self._client.aclose()

    async def send(
        self, method: str, path: str, headers: Sequence[tuple[str, str]] = (), *, body: bytes = b""
    ) -> HttpResult:
        """Send at the run's pace; a 429 is waited out and the request sent again (``MAX_429_RETRIES``)."""
        attempt = 0
        while True:
            sent_at = await self.pacer.reserve()
            result = await self._send_once(method, path, headers, body)
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

    async def _send_once(
        self, method: str, path: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> HttpResult:
        url = self.base_url + path
        self.sent += 1
        started = time.perf_counter()
        reply = Answer(MAX_BODY)
        outcome, detail = Outcome.ANSWERED, ""
        try:
            async with asyncio.timeout(self.request_timeout):
                if self._wire is not None and self._wire_sends(url, path):
                    await self._send_wire(self._wire, method, path, headers, body, reply)
                else:
                    await self._send_httpx(method, url, headers, body, reply)
        except (TimeoutError, httpx.TimeoutException):
            outcome = Outcome.TIMED_OUT
        except (httpx.LocalProtocolError, h11.LocalProtocolError) as exc:
            outcome, detail = Outcome.NOT_SENT, str(exc)
        except (httpx.ConnectError, ConnectFailed) as exc:
            outcome, detail = Outcome.CONNECT_FAILED, str(exc) or type(exc).__name__
        except (httpx.HTTPError, h11.RemoteProtocolError, ReadError, OSError) as exc:
            outcome = Outcome.CUT_OFF if reply.status is not None else Outcome.DROPPED
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        elapsed_ms = (time.perf_counter() - started) * 1000
        return self.result(
            method,
            url,
            headers,
            reply.status,
            reply.headers,
            reply.body,
            reply.truncated,
            elapsed_ms,
            outcome,
            detail,
        )

    def _wire_sends(self, url: str, path: str) -> bool:
        """Whether our own connections send this request as httpx would (else httpx sends it): the path is
        sent as it is, and no cookie a response set has to go with it (httpx's jar matches by URL)."""
        return len(url) <= MAX_URL_LENGTH and not self._client.cookies and _plain_path(path)

    async def _send_wire(
        self,
        origin: Origin,
        method: str,
        path: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        reply: Answer,
    ) -> None:
        # The header list httpx would send (its defaults, Host, Content-Length), built for the base URL: the
        # full URL would only add the parsing this path exists to avoid.
        request = self._client.build_request(
            method, self.base_url, headers=_wire_headers(headers), content=body
        )
        target = (self.path_prefix + path).encode("ascii")
        await origin.request(
            request.method.encode("ascii"), target, request.headers.raw, request.content, reply
        )
        if any(name == "set-cookie" for name, _ in reply.headers):
            # The jar httpx keeps: later requests then carry the cookie, through httpx (see _wire_sends).
            sent = self._client.build_request(method, self.base_url + path, headers=_wire_headers(headers))
            self._client.cookies.extract_cookies(
                httpx.Response(reply.status or 0, headers=reply.headers, request=sent)
            )

    async def _send_httpx(
        self, method: str, url: str, headers: Sequence[tuple[str, str]], body: bytes, reply: Answer
    ) -> None:
        request = self._client.build_request(method, url, headers=_wire_headers(headers), content=body)
        response = await self._client.send(request, stream=True)
        try:
            reply.status = response.status_code
            reply.headers = [(k, v) for k, v in response.headers.multi_items()]
            async for chunk in response.aiter_raw():
                if not reply.take(chunk):
                    break
        finally:
            await response.aclose()

    def result(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        status: int | None,
        response_headers: list[tuple[str, str]],
        body: bytes,
        truncated: bool,
        elapsed_ms: float,
        outcome: Outcome,
        detail: str = "",
    ) -> HttpResult:
        """An exchange as checks judge it, with its redacted evidence: one rule for every way of sending."""
        raw = body[:MAX_BODY]
        error = None
        if outcome is not Outcome.ANSWERED:
            error = describe_failure(outcome, detail, self.request_timeout)
            if status is not None:
                truncated = True  # headers arrived but the body did not: judge what came, say what went wrong
        redact = self.redactor
        text = redact.text(raw.decode("utf-8", "replace"))
        shown_url, shown_headers = redact.text(url), redact.headers(headers)  # once: evidence and curl line
        evidence = Exchange(
            method=method,
            url=shown_url,
            request_headers={name: _shorten(value) for name, value in shown_headers.items()},
            status=status,
            response_headers=redact.headers(response_headers),
            response_body=text[:EXCERPT],
            body_truncated=truncated or len(text) > EXCERPT,
            elapsed_ms=round(elapsed_ms, 2),
            error=redact.text(error) if error else None,
            outcome=outcome.value,
            curl=_curl(method, shown_url, shown_headers),
        )
        return HttpResult(status, response_headers, raw, truncated, elapsed_ms, error, evidence, outcome)


def _plain_path(path: str) -> bool:
    if _NOT_PLAIN.search(path):
        return False
    return "." not in path or not any(segment in (".", "..") for segment in path.split("/"))


def _tls(verify: bool | str) -> bool | ssl.SSLContext:
    """httpx 0.28 deprecates a CA-bundle path for ``verify`` (a DeprecationWarning now, an error later)."""
    if not isinstance(verify, str):
        return verify
    try:
        return ssl.create_default_context(cafile=verify)
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"--ca-bundle {verify!r}: not a readable PEM CA bundle ({exc})") from exc


def _wire_headers(headers: Sequence[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    """Header values as bytes: latin-1 where it fits (obs-text such as a no-break space), else UTF-8."""
    out = []
    for name, value in headers:
        try:
            out.append((name.encode("latin-1"), value.encode("latin-1")))
        except UnicodeEncodeError:
            out.append((name.encode("latin-1", "replace"), value.encode("utf-8")))
    return out


def _shorten(value: str) -> str:
    """Evidence keeps long boundary values readable: '<16384 x "0">' instead of the value."""
    if len(value) > 120:
        if len(set(value)) == 1:
            return f"<{len(value)} x {value[0]!r}>"
        return value[:60] + f"...<{len(value)} chars>"
    return value
