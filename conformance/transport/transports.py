"""The ways a request goes out: one interface, two transports, chosen once per client (httpx's
``AsyncBaseTransport`` seam).

A :class:`Request` is final when it gets here - method, URL, the target as written on the request line,
every header (the credential attached: transport/auth.py) and the body. A :class:`Transport` sends it and
reads the answer into an :class:`~conformance.transport.h1.Answer`; whatever goes wrong it raises (the
client classifies it once, transport/outcome.py) and the answer keeps what came before the failure.

- :class:`HttpxTransport` sends through httpx: every request of an in-process target (tests), and what
  :class:`H1Transport` hands it - through the same proxy (httpx is told it; it reads no environment).
- :class:`H1Transport` sends over keep-alive connections of our own on h11 (transport/h1.py) with the header
  list httpx would build - the bytes httpx would send, without its ~3 ms of CPU per request. What it cannot
  send as httpx would (a path httpx would rewrite, a cookie of httpx's jar, an over-long URL) it hands to its
  ``fallback``, an :class:`HttpxTransport` on the same httpx client.

How a request is written, and where the next ways of sending go:

- **segmented writes** (a request head written in pieces, with a pause between them) are
  ``h1.write_request``'s, on the connections :class:`H1Transport` sends over: a head over ``h1.HOLD_ABOVE``
  goes in two writes (the race, transport/race.py, writes all but the last byte on such connections too);
- **proxy routing** is done: the client picks the proxy once (transport/proxies.py); :class:`H1Transport`'s
  pool connects to it and sends the absolute-form target (plain http, :func:`wire`) or tunnels with
  ``CONNECT`` (https, transport/h1.py) before the same h11 exchange, the race on the same connections.
  ``Client._choose_transport`` is the one place that picks a transport for a client.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from conformance.transport import h1, keepalive, request_head
from conformance.transport.proxies import Proxy

if TYPE_CHECKING:
    import httpx

# What our own connections send: the request line, the header list httpx builds, the body (transport/h1.py).
Wire = tuple[bytes, bytes, list[tuple[bytes, bytes]], bytes]
# A path httpx sends exactly as given holds only unreserved characters, "/" and %XX escapes (what
# spec/paths.py's encode_segment makes), and no "." or ".." segment: its re-quoting and dot-segment removal
# leave it alone. ";" and "=" (path parameters) httpx keeps as they are, too.
# Two searches, not one of two alternatives: each runs at C speed over an id of 12 KiB percent-encoded (the
# fuzz check's hundreds), where the alternation tried both at every character (~2x the time, measured).
_NOT_PLAIN_CHARACTER = re.compile(r"[^A-Za-z0-9\-._~/%;=]")
_NOT_AN_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
MAX_URL_LENGTH = 65536  # httpx refuses longer URLs (InvalidURL): those requests still go through it


@dataclass(frozen=True)
class Request:
    """One request as it goes out. ``target`` is the path as written on the request line (the base URL's
    path and the request's); ``url`` the whole URL, for httpx and the evidence."""

    method: str
    url: str
    target: str
    headers: Sequence[tuple[str, str]]
    body: bytes = b""
    content_length: bool = True  # False: an empty body goes with no Content-Length at all (curl's -X PUT)
    # False for a request that could pause a listed group: never on a reused connection (transport/h1.py).
    replay_safe: bool = True


class Transport:
    """Sends one request and reads its answer into ``reply``; raises what the exchange raised."""

    async def send(self, request: Request, reply: h1.Answer) -> None:
        raise NotImplementedError

    @property
    def reopened(self) -> int:
        """Requests sent again on a new connection after an idle close crossed them (RFC 9112 §9.3.1)."""
        return 0

    async def aclose(self) -> None:
        return None


class HttpxTransport(Transport):
    """Every request through one httpx client: redirects never followed, the body read raw (its coding is
    undone for every transport alike, in ``Client.result``) and cut at the answer's cap. The client is made
    when first used (``make_client``): a run whose requests all go on our own connections never imports
    httpx, nor loads the CA store its client would."""

    def __init__(self, make_client: Callable[[], httpx.AsyncClient]) -> None:
        self._make_client = make_client
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = self._make_client()
        return self._client

    @property
    def cookies(self) -> bool:
        """Whether httpx's jar holds a cookie (an unmade client holds none)."""
        return self._client is not None and bool(self._client.cookies)

    def build(self, request: Request, url: str | None = None) -> httpx.Request:
        """The request as httpx builds it (its default headers, Host, Content-Length), for ``url``."""
        built = self.client.build_request(
            request.method, url or request.url, headers=wire_headers(request.headers), content=request.body
        )
        if not request.content_length and not request.body:
            del built.headers["Content-Length"]
        return built

    async def send(self, request: Request, reply: h1.Answer) -> None:
        response = await self.client.send(self.build(request), stream=True)
        try:
            reply.status = response.status_code
            reply.headers = [(k, v) for k, v in response.headers.multi_items()]
            async for chunk in response.aiter_raw():  # raw: the coding is undone in Client.result
                if not reply.take(chunk):
                    break
            else:
                reply.complete = True
        finally:
            await response.aclose()

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()


class H1Transport(Transport):
    """Keep-alive connections of our own (transport/keepalive.py, on h1.py) to the base URL's host, sending
    the header list httpx builds (:func:`wire`); a request they cannot send exactly as httpx would goes to
    ``fallback``."""

    def __init__(self, pool: keepalive.Pool, fallback: HttpxTransport, base_url: str) -> None:
        self.pool = pool
        self.fallback = fallback
        self.base_url = base_url
        self.proxy = pool.proxy
        self.headers = header_builder(fallback, base_url)

    def sendable(self, request: Request) -> bool:
        """Whether our connections send ``request`` as httpx would: its path is sent as it is, the URL is
        not over-long, and no cookie of httpx's jar has to go with it (the jar matches by URL)."""
        return len(request.url) <= MAX_URL_LENGTH and not self.fallback.cookies and plain_path(request.target)

    async def send(self, request: Request, reply: h1.Answer) -> None:
        if not self.sendable(request):
            await self.fallback.send(request, reply)
            return
        await self.pool.request(
            *wire(self.headers, request, self.base_url, self.proxy), reply, replay_safe=request.replay_safe
        )
        if any(name == "set-cookie" for name, _ in reply.headers):
            # httpx's jar: later requests then carry the cookie, through httpx (see sendable).
            import httpx

            sent = self.fallback.client.build_request(
                request.method, request.url, headers=wire_headers(request.headers)
            )
            self.fallback.client.cookies.extract_cookies(
                httpx.Response(reply.status or 0, headers=reply.headers, request=sent)
            )

    @property
    def reopened(self) -> int:
        return self.pool.reopened

    async def aclose(self) -> None:
        self.pool.close()
        await asyncio.sleep(0)  # let the closed transports release their sockets before the loop ends
        await self.fallback.aclose()


# The header list httpx builds for a request (to one base URL).
HeaderBuilder = Callable[[Request], list[tuple[bytes, bytes]]]


def header_builder(httpx_transport: HttpxTransport, base_url: str) -> HeaderBuilder:
    """Where httpx writes the base URL's host as given, the list is built without httpx
    (transport/request_head.py: the same list, without importing it); else httpx builds it."""
    netloc = request_head.plain_netloc(base_url)

    def headers_of(request: Request) -> list[tuple[bytes, bytes]]:
        given = wire_headers(request.headers)
        if netloc is None or not request_head.ascii_names(given):
            return list(httpx_transport.build(request, base_url).headers.raw)
        return request_head.build(
            request.method, netloc, given, request.body, content_length=request.content_length
        )

    return headers_of


def wire(headers_of: HeaderBuilder, request: Request, base_url: str, proxy: Proxy | None = None) -> Wire:
    """``request`` as our own connections send it: the header list httpx builds for the base URL (the full
    URL would only add the parsing they exist to avoid) and the target as it is - in absolute form, with the
    proxy's credential, for a plain-http request through ``proxy`` (transport/proxies.py)."""
    method, target = request.method.upper().encode("ascii"), request.target.encode("ascii")
    headers = headers_of(request)
    if proxy is not None and not base_url.lower().startswith("https:"):
        target = h1.proxied_target(base_url, target, proxy, tls=False)
        headers += proxy.header()
    return method, target, headers, request.body


def plain_path(path: str) -> bool:
    """Whether httpx sends ``path`` exactly as given."""
    if _NOT_PLAIN_CHARACTER.search(path) or _NOT_AN_ESCAPE.search(path):
        return False
    return "." not in path or not any(segment in (".", "..") for segment in path.split("/"))


def wire_headers(headers: Sequence[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    """Header values as bytes: latin-1 where it fits (obs-text such as a no-break space), else UTF-8."""
    out = []
    for name, value in headers:
        try:
            out.append((name.encode("latin-1"), value.encode("latin-1")))
        except UnicodeEncodeError:
            out.append((name.encode("latin-1", "replace"), value.encode("utf-8")))
    return out
