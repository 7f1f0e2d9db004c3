"""The header list httpx builds for a request, built without importing httpx (~50 ms of a run's start, with
httpcore and the CA store its client loads; transport/transports.py sends the list on our own connections).

httpx's rules (``Client.build_request``, ``Headers.update``, ``Request._prepare``), followed exactly:
- the client's headers are httpx's defaults (Accept, Accept-Encoding, Connection, User-Agent) less the ones
  the client sets, then the client's own (``CLIENT_HEADERS``);
- a request's headers replace every client header of the same name (case-insensitive) and follow them, in
  their order, duplicates and all;
- a body adds ``Content-Length`` at the end unless one is given; then ``Host`` (the base URL's host, and
  its port unless the scheme's default) goes first unless given, and ``Content-Length: 0`` with it for a
  bodiless POST, PUT or PATCH that gives neither Content-Length nor Transfer-Encoding.

Only for a base URL whose host httpx writes as it is given (lower-cased letters, digits, dots and hyphens,
or a dotted-quad IPv4 address; no user info; a port without leading zeros; the scheme in lower case) and
header names in ASCII (httpx fails on others): ``plain_netloc`` and ``ascii_names`` say which, and the rest
keeps httpx's own builder. tests/unit/test_request_head.py compares the two on drawn requests
and hosts; tests/hostile/test_wire_parity.py compares the bytes on the wire.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from conformance.transport import codings

# What the client sets of its own; httpx's defaults, in the order httpx's Headers holds them.
CLIENT_HEADERS = (("User-Agent", "oms-conformance"), ("Accept-Encoding", codings.ACCEPT_ENCODING))
HTTPX_DEFAULTS = (
    ("Accept", "*/*"),
    ("Accept-Encoding", ""),
    ("Connection", "keep-alive"),
    ("User-Agent", ""),
)
_OWN = {name.lower() for name, _ in CLIENT_HEADERS}
BASE = tuple(
    (name.encode("ascii"), value.encode("ascii"))
    for name, value in (*((n, v) for n, v in HTTPX_DEFAULTS if n.lower() not in _OWN), *CLIENT_HEADERS)
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PLAIN_NETLOC = re.compile(r"([a-z0-9.-]+)(?::([1-9][0-9]{0,4}))?")
_DOTTED_QUAD = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
# An IPv4 address as httpx writes it back (octets 0-255, no leading zero); another dotted quad it refuses.
_IPV4 = re.compile(r"((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.|$)){4}")
_BODY_METHODS = ("POST", "PUT", "PATCH")

Header = tuple[bytes, bytes]


def plain_netloc(base_url: str) -> bytes | None:
    """The Host header httpx writes for ``base_url``, where it writes the host as given; else None."""
    try:
        parts = urlsplit(base_url)
    except ValueError:
        return None
    match = _PLAIN_NETLOC.fullmatch(parts.netloc.lower())
    # The scheme as written: httpx drops the default port of "http" but not of "HTTP".
    if not base_url.startswith(("http://", "https://")) or not match or not match.group(1).strip("."):
        return None
    host, port = match.group(1), match.group(2)
    if _DOTTED_QUAD.fullmatch(host) and not _IPV4.fullmatch(host):
        return None
    if port is None or int(port) == _DEFAULT_PORTS[parts.scheme]:
        return host.encode("ascii")
    if int(port) > 65535:
        return None
    return f"{host}:{port}".encode("ascii")


def ascii_names(given: Sequence[Header]) -> bool:
    return all(name.isascii() for name, _ in given)


def build(
    method: str, netloc: bytes, given: Sequence[Header], body: bytes, *, content_length: bool = True
) -> list[Header]:
    """The header list httpx builds for a request to a base URL of Host ``netloc``; ``given``: its headers
    as bytes (transports.wire_headers). ``content_length=False``: an empty body goes with no Content-Length
    (what transports.HttpxTransport.build deletes)."""
    replaced = {name.lower() for name, _ in given}
    headers = [header for header in BASE if header[0].lower() not in replaced] + list(given)
    names = {name.lower() for name, _ in headers}
    if body and b"content-length" not in names:
        headers.append((b"Content-Length", str(len(body)).encode("ascii")))
        names.add(b"content-length")
    auto: list[Header] = []
    if b"host" not in names:
        auto.append((b"Host", netloc))
    if not names & {b"content-length", b"transfer-encoding"} and method.upper() in _BODY_METHODS:
        auto.append((b"Content-Length", b"0"))
    headers = auto + headers
    if not content_length and not body:
        headers = [header for header in headers if header[0].lower() != b"content-length"]
    return headers
