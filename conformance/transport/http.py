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
- Paths are built from raw segments here, percent-encoding every reserved character (and ``.``/``..``
  segments, which clients would otherwise normalise away), so an id reaches the server as one segment.
- Requests to a socket target go over the client's own keep-alive connections on h11 (transport/h1.py),
  with the header list httpx builds: the bytes httpx would send, without its ~3 ms of CPU per request that
  made a deep fuzz run measure the client. Those connections follow RFC 9112 §9: an idle close that crosses
  a request is not an answer. httpx itself sends what they cannot (a proxy from the environment, cookies,
  paths it would rewrite) and every request of an in-process target (tests).
- How an exchange ended is classified once, for every path (transport/outcome.py).
"""

from __future__ import annotations

import asyncio
import json
import re
import shlex
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import quote, urlsplit
from urllib.request import getproxies

import h11
import httpx

from conformance.errors import UsageError
from conformance.redact import Redactor
from conformance.results import Exchange
from conformance.spec.documents import SHOW_PATH, STOP_SUFFIX
from conformance.transport import codings, h1
from conformance.transport.outcome import ConnectFailed, Outcome, ReadError, classify, describe_failure
from conformance.transport.pace import MAX_429_RETRIES, Pacer

__all__ = ["MAX_BODY", "Client", "HttpResult", "Outcome", "describe_failure", "encode_segment", "stop_path"]

MAX_BODY = 256 * 1024
NOT_JSON = object()  # HttpResult.json of a body that does not parse
EXCERPT = 2048
# A path httpx sends exactly as given holds only unreserved characters, "/" and %XX escapes (what
# encode_segment makes), and no "." or ".." segment: its re-quoting and dot-segment removal leave it alone.
# ";" and "=" (path parameters) httpx keeps as they are, too.
_NOT_PLAIN = re.compile(r"[^A-Za-z0-9\-._~/%;=]|%(?![0-9A-Fa-f]{2})")  # a search, not a match per character
MAX_URL_LENGTH = 65536  # httpx refuses longer URLs (InvalidURL): those requests still go through it
# What goes wrong on a connection of our own (transport/h1.py), for classify(); httpx's failures besides.
_SEND_FAILURES = (TimeoutError, httpx.HTTPError, h11.ProtocolError, ConnectFailed, ReadError, OSError)


def encode_segment(value: str) -> str:
    if value in (".", ".."):
        return value.replace(".", "%2E")
    return quote(value, safe="")


def stop_path(
    project_id: str, group_id: str, *, suffix: str = STOP_SUFFIX, params: tuple[str, str] = ("", "")
) -> str:
    """The operation's path; ``params``: raw text after the encoded project and group segments (path
    parameters such as ``;x=1``, which percent-encoding would turn into part of the id)."""
    project, group = encode_segment(project_id) + params[0], encode_segment(group_id) + params[1]
    return SHOW_PATH.format(project_id=project, group_id=group) + suffix


@dataclass
class HttpResult:
    """An answer, unredacted: what the checks judge. ``exchange`` is the redacted evidence.

    ``body`` is the body as the application sent it: its content coding undone (``coding`` names it;
    ``coding_problem`` says why a body is still encoded, or where its encoding broke)."""

    status: int | None
    headers: list[tuple[str, str]]
    body: bytes
    truncated: bool
    elapsed_ms: float
    error: str | None  # display text of a failed exchange; branch on ``outcome``, never on this
    exchange: Exchange = field(repr=False)
    outcome: Outcome = Outcome.ANSWERED
    coding: str = ""
    coding_problem: str = ""
    # The body came in a coding the client cannot undo (one it did not ask for): what the application sent
    # is unknown, so no check judges the body (the run says so in a note).
    body_unknown: bool = False

    def header(self, name: str) -> str | None:
        """The first value of a singleton field (Content-Type, Retry-After), or None."""
        name = name.lower()
        return next((value for key, value in self.headers if key.lower() == name), None)

    def header_list(self, name: str) -> str | None:
        """A list-based field (Allow, Vary): all its field lines, joined as one (RFC 9110 §5.3)."""
        return _header(self.headers, name.lower())

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
        on_exchange: Callable[[Exchange], None] | None = None,
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
            # The context httpx would make of the bool, made here so that our own connections trust the
            # same CAs. Not for in-process clients: loading a CA store costs ~0.2 s and they never use TLS.
            tls = httpx.create_ssl_context(verify=tls)
        self.ssl_context = tls if isinstance(tls, ssl.SSLContext) else None
        self._client = httpx.AsyncClient(
            transport=transport,
            verify=tls,
            follow_redirects=False,
            timeout=httpx.Timeout(request_timeout),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
            # Only the codings transport/codings.py undoes: httpx's default would add br and zstd whenever
            # their packages happen to be installed.
            headers={"User-Agent": "oms-conformance", "Accept-Encoding": codings.ACCEPT_ENCODING},
        )
        self.sent = 0
        self.pacer = pacer or Pacer(rate_limit)
        # Told of every exchange as it ends, whichever way it was sent (the race, preflight, 429 retries,
        # restore): the run's one request count and status histogram are made from these.
        self.on_exchange = on_exchange
        self._pool = self._own_connections()

    @property
    def reopened(self) -> int:
        """Requests sent again on a new connection after an idle close crossed them (RFC 9112 §9.3.1)."""
        return self._pool.reopened if self._pool is not None else 0

    def _own_connections(self) -> h1.Pool | None:
        """Connections of our own (transport/h1.py) where they send what httpx would: a socket target over
        http(s), no proxy from the environment (httpx would use it), a base path httpx leaves as it is."""
        parts = urlsplit(self.base_url)
        if self.in_process or getproxies() or parts.scheme not in ("http", "https") or not parts.hostname:
            return None
        if not _plain_path(self.path_prefix) or parts.query or parts.fragment:
            return None
        tls = parts.scheme == "https"
        return h1.Pool(parts.hostname, parts.port or (443 if tls else 80), self.ssl_context if tls else None)

    async def aclose(self) -> None:
        if self._pool is not None:
            self._pool.close()
            await asyncio.sleep(0)  # let the closed transports release their sockets before the loop ends
        await self._client.aclose()

    async def send(
        self,
        method: str,
        path: str,
        headers: Sequence[tuple[str, str]] = (),
        *,
        body: bytes = b"",
        replay_safe: bool = True,
        content_length: bool = True,
    ) -> HttpResult:
        """Send at the run's pace; a 429 is waited out and the request sent again (``MAX_429_RETRIES``).

        ``replay_safe=False`` for a request that could pause a listed group: it goes on a new connection,
        so that an idle close can never leave its fate in doubt (transport/h1.py). ``content_length=False``
        sends an empty body with no Content-Length at all, as curl's ``-X PUT`` does.
        """
        attempt = 0
        while True:
            sent_at = await self.pacer.reserve()
            result = await self._send_once(method, path, headers, body, replay_safe, content_length)
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
        self,
        method: str,
        path: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        replay_safe: bool,
        content_length: bool,
    ) -> HttpResult:
        url = self.base_url + path
        self.sent += 1
        started = time.perf_counter()
        reply = h1.Answer(MAX_BODY)
        outcome, detail = Outcome.ANSWERED, ""
        try:
            async with asyncio.timeout(self.request_timeout):
                if self._pool is not None and self._own_sends(url, path):
                    message = self.wire_request(method, path, headers, body, content_length=content_length)
                    await self._send_own(self._pool, method, path, headers, message, reply, replay_safe)
                else:
                    await self._send_httpx(method, url, headers, body, reply, content_length)
        except _SEND_FAILURES as exc:
            outcome, detail = classify(exc, status_seen=reply.status is not None)
        elapsed_ms = (time.perf_counter() - started) * 1000
        return self.result(method, url, headers, reply, elapsed_ms, outcome, detail)

    def _own_sends(self, url: str, path: str) -> bool:
        """Whether our own connections send this request as httpx would (else httpx sends it): the path is
        sent as it is, and no cookie a response set has to go with it (httpx's jar matches by URL)."""
        return len(url) <= MAX_URL_LENGTH and not self._client.cookies and _plain_path(path)

    def wire_request(
        self,
        method: str,
        path: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        *,
        content_length: bool = True,
    ) -> tuple[bytes, bytes, list[tuple[bytes, bytes]], bytes]:
        """The request as our own connections send it: the header list httpx builds (its defaults, Host,
        Content-Length) for the base URL - the full URL would only add the parsing they exist to avoid."""
        request = self._build(method, self.base_url, headers, body, content_length)
        target = (self.path_prefix + path).encode("ascii")  # encode_segment made it so; else not ours to send
        return request.method.encode("ascii"), target, list(request.headers.raw), request.content

    def _build(
        self, method: str, url: str, headers: Sequence[tuple[str, str]], body: bytes, content_length: bool
    ) -> httpx.Request:
        request = self._client.build_request(method, url, headers=_wire_headers(headers), content=body)
        if not content_length and not body:
            del request.headers["Content-Length"]
        return request

    async def _send_own(
        self,
        pool: h1.Pool,
        method: str,
        path: str,
        headers: Sequence[tuple[str, str]],
        message: tuple[bytes, bytes, list[tuple[bytes, bytes]], bytes],
        reply: h1.Answer,
        replay_safe: bool,
    ) -> None:
        await pool.request(*message, reply, replay_safe=replay_safe)
        if any(name == "set-cookie" for name, _ in reply.headers):
            # The jar httpx keeps: later requests then carry the cookie, through httpx (see _own_sends).
            sent = self._client.build_request(method, self.base_url + path, headers=_wire_headers(headers))
            self._client.cookies.extract_cookies(
                httpx.Response(reply.status or 0, headers=reply.headers, request=sent)
            )

    async def _send_httpx(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        reply: h1.Answer,
        content_length: bool = True,
    ) -> None:
        request = self._build(method, url, headers, body, content_length)
        response = await self._client.send(request, stream=True)
        try:
            reply.status = response.status_code
            reply.headers = [(k, v) for k, v in response.headers.multi_items()]
            async for chunk in response.aiter_raw():  # raw: the coding is undone in result(), for every path
                if not reply.take(chunk):
                    break
            else:
                reply.complete = True
        finally:
            await response.aclose()

    def result(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str]],
        reply: h1.Answer,
        elapsed_ms: float,
        outcome: Outcome,
        detail: str = "",
    ) -> HttpResult:
        """An exchange as checks judge it, with its redacted evidence: one rule for every way of sending."""
        raw, truncated = reply.body[:MAX_BODY], reply.truncated
        error = None
        if outcome is not Outcome.ANSWERED:
            error = describe_failure(outcome, detail, self.request_timeout)
            if reply.status is not None:
                truncated = True  # headers arrived but the body did not: judge what came, say what went wrong
        decoded = codings.decode(
            raw, _header(reply.headers, "content-encoding"), MAX_BODY, complete=reply.complete
        )
        body, truncated = decoded.body, truncated or decoded.truncated
        redact = self.redactor
        text = redact.text(body.decode("utf-8", "replace"))
        shown_url, shown_headers = redact.text(url), redact.headers(headers)  # once: evidence and curl line
        evidence = Exchange(
            method=method,
            url=shown_url,
            request_headers={name: _shorten(value) for name, value in shown_headers.items()},
            status=reply.status,
            response_headers=redact.headers(reply.headers),
            response_body=text[:EXCERPT],
            body_truncated=truncated or len(text) > EXCERPT,
            elapsed_ms=round(elapsed_ms, 2),
            error=redact.text(error) if error else None,
            outcome=outcome.value,
            curl=_curl(method, shown_url, shown_headers),
            content_coding=decoded.coding + (f" (not undone: {decoded.problem})" if decoded.problem else ""),
        )
        if self.on_exchange is not None:
            self.on_exchange(evidence)
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


def _header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    """All the values of ``name``, joined as one list (RFC 9110 §5.3), or None."""
    values = [value for key, value in headers if key.lower() == name]
    return ", ".join(values) if values else None


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
