"""Which layer answered, and what to change: the evidence of one answer (its ``Server`` header, the body's
first bytes, the status, the content type) matched against the tell-tale answers of common stacks and fronts
(checks/machinery/stack_tells.py).

A finding is only useful if the person reading it knows where to look. "If a proxy is in front ..." sent users
of FastAPI, gunicorn and Node looking for an nginx they did not have, so this module names a layer only where
the answer itself shows it - a proxy only by its own header or page - and otherwise says the layer is
unknown, listing the settings of the usual suspects for the kind of refusal seen. Pure: no I/O, no state.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from conformance.checks.machinery.stack_tells import TELLS, Tell
from conformance.results import Exchange

EXCERPT_BYTES = 512  # how much of a body the patterns see: every tell-tale is near the start
_JSON_ENVELOPE = re.compile(rb'^\s*\{.*"error_code"\s*:\s*"(?!APIGW\.)[^"]*".*"error_msg"', re.S)
# Where a refusal of the head's size comes from when nothing in the answer names the layer: the settings of
# the layers that commonly answer so, for the reader to look through (no one of them is claimed).
HEAD_LIMIT_SETTINGS = (
    "nginx large_client_header_buffers, Apache httpd LimitRequestFieldSize/LimitRequestLine, gunicorn "
    "limit_request_field_size/limit_request_line, Node --max-http-header-size, uvicorn "
    "--h11-max-incomplete-event-size, aiohttp max_field_size/max_line_size, Tomcat maxHttpHeaderSize, "
    "HAProxy tune.bufsize, Envoy max_request_headers_kb"
)


@dataclass(frozen=True)
class Layer:
    """The layer an answer came from, as a finding names it."""

    name: str
    kind: str
    means: str = ""
    setting: str = ""
    evidence: str = ""  # what in the answer said so
    source: str = ""

    @property
    def known(self) -> bool:
        return self.kind != "unknown"

    def sentence(self) -> str:
        """One line for a report: who answered, how we know, what it means and what to change."""
        if not self.known:
            return f"unknown ({self.means})"
        if self.kind == "application":
            return f"the application ({self.evidence})"
        said = f"{self.name}, {self.kind} ({self.evidence})"
        if self.means:
            said += f": {self.means}"
        if self.setting:
            said += f" - to change: {self.setting}"
        return said


APPLICATION = Layer("the application", "application", evidence="the contract's error envelope")


def identify(status: int | None, headers: Sequence[tuple[str, str]], body: bytes) -> Layer:
    """The layer that made this answer, or an unknown one saying why it could not be told."""
    if status is None:
        return Layer("", "unknown", "no answer came back")
    server = _header(headers, "server")
    names = {name.lower() for name, _ in headers}
    media = (_header(headers, "content-type") or "").split(";", 1)[0].strip().lower()
    text = body[:EXCERPT_BYTES].decode("utf-8", "replace").strip()
    matching = [t for t in TELLS if _matches(t, status, server, names, media, text)]
    # A layer's own page or header decides; the contract's envelope is the application's, whatever serves
    # it (named beside it); a Server header alone names what stands in front; else the layer is unknown.
    own = max((t for t in matching if t.body or t.header), key=lambda t: t.conditions, default=None)
    announced = max(matching, key=lambda t: t.conditions, default=None)
    if own is not None:
        return _layer(own, status, server, media)
    if _JSON_ENVELOPE.match(body[:EXCERPT_BYTES]):
        if announced is None:
            return APPLICATION
        return Layer(
            "the application", "application", evidence=f"{APPLICATION.evidence}, served by {announced.layer}"
        )
    if announced is not None:
        return _layer(announced, status, server, media)
    why = "no Server header, header or page of a known stack"
    if server:
        why = f"Server: {server[:60]} is no stack this tool knows"
    return Layer("", "unknown", why)


def _layer(tell: Tell, status: int, server: str | None, media: str) -> Layer:
    return Layer(
        tell.layer, tell.kind, tell.means, tell.setting, _evidence(tell, status, server, media), tell.source
    )


def _matches(tell: Tell, status: int, server: str | None, names: set[str], media: str, text: str) -> bool:
    if tell.statuses and status not in tell.statuses:
        return False
    if tell.server and not (server and re.search(tell.server, server, re.I)):
        return False
    if tell.body and not re.search(tell.body, text, re.S):
        return False
    if tell.content_type and not media.startswith(tell.content_type):
        return False
    return not tell.header or tell.header in names


def _evidence(tell: Tell, status: int, server: str | None, media: str) -> str:
    said = []
    if tell.server and server:
        said.append(f"Server: {server[:60]}")
    if tell.header:
        said.append(f"its {tell.header} header")
    if tell.body:
        said.append(f"its {media or 'untyped'} page" if "html" in media else f"its {media or 'untyped'} body")
    if tell.statuses:
        said.append(f"status {status}")
    return ", ".join(said)


def _header(headers: Sequence[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in headers if key.lower() == name), None)


def layer_of(exchange: Exchange) -> str:
    """A finding's ``layer`` field from its redacted evidence: who answered, and what to change."""
    headers = list(exchange.response_headers.items())
    return identify(exchange.status, headers, exchange.response_body.encode("utf-8", "replace")).sentence()
