"""The proxy's hook into uvicorn's HTTP layer: requests its parser refuses become the client's violations.

Why a protocol subclass: some client mistakes never reach an ASGI app. In uvicorn's httptools protocol
(``uvicorn/protocols/http/httptools_impl.py``), ``data_received`` catches ``HttpParserError`` - a raw space or
a byte outside the URL grammar in the request line (invalid UTF-8 included), a garbage request line, a bad
chunk in a chunked body - and ``on_headers_complete`` fails inside the parser callback for a URL over 65,535
bytes (``httptools.parse_url``). Both end in ``send_400_response(msg)``: a bare ``text/plain`` 400, the
connection closed, nothing recorded. (``h11_impl.py`` has the same method for the same purpose.)

:func:`recording_protocol` derives a protocol class whose ``send_400_response`` instead asks the proxy to
record the request and answers with the contract's 400 ``OMS.0064`` envelope. The request head is kept (up to
``MAX_KEPT_HEAD`` bytes) while it arrives, so the proxy can judge what it can of it. A mistake in the body of
a request the app already handles (a bad chunk) is recorded with that request's scope, which is marked so
that the app, seeing the connection close, does not count it a second time.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar, Protocol, cast

from conformance._seams import uvicorn as uvicorn_seam
from conformance._seams.uvicorn import HttpToolsProtocol

# Set in a request's scope once the HTTP layer recorded it (its body broke HTTP framing).
BROKEN_FRAMING = "oms_proxy.broken_framing"
# Enough for a legal 16,384-character token, a 1,024-character id fully percent-encoded and ordinary headers.
MAX_KEPT_HEAD = 256 * 1024


class RejectionSink(Protocol):
    """What the proxy offers its HTTP layer (:class:`~conformance.proxy.app.ValidatingProxy` is one)."""

    def rejected_head(self, raw: bytes) -> bytes:
        """Record a request whose head the parser refused; returns the body of the 400 to send."""
        ...

    def rejected_body(self, scope: dict[str, Any]) -> bytes:
        """Record the request of ``scope``, whose body broke framing; returns the body of the 400 to send."""
        ...


class _RecordingProtocol(HttpToolsProtocol):
    sink: ClassVar[RejectionSink]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._oms_head = bytearray()
        self._oms_in_body = False  # the current request's head was accepted; its body is arriving
        self._oms_message_done = False

    def data_received(self, data: bytes) -> None:
        if self._oms_message_done:
            self._oms_head.clear()  # a new request starts with these bytes
            self._oms_message_done = False
        if not self._oms_in_body and len(self._oms_head) < MAX_KEPT_HEAD:
            self._oms_head += data[: MAX_KEPT_HEAD - len(self._oms_head)]
        super().data_received(data)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()  # raises for a URL too long to parse: then it is the head's fault
        self._oms_in_body = True

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._oms_in_body = False
        self._oms_message_done = True

    def send_400_response(self, msg: str) -> None:
        cycle = self.cycle
        if self._oms_in_body:
            # Recorded here, at once, rather than by the app when it sees the connection close: the client
            # has its answer now, and may look at the violations before the app's task runs again.
            if cycle is not None and not cycle.response_started:
                self._answer_400(self.sink.rejected_body(cast(dict[str, Any], cycle.scope)))
            # else: that request was answered already (refused under --enforce) and is accounted for.
            self.transport.close()
            return
        body = self.sink.rejected_head(bytes(self._oms_head))
        self._oms_head.clear()
        self._answer_400(body)
        self.transport.close()

    def _answer_400(self, body: bytes) -> None:
        content = [b"HTTP/1.1 400 Bad Request\r\n"]
        for name, value in self.server_state.default_headers:
            content += [name, b": ", value, b"\r\n"]
        content += [
            b"content-type: application/json;charset=UTF-8\r\n",
            b"content-length: %d\r\n" % len(body),
            b"x-request-id: " + os.urandom(16).hex().encode() + b"\r\n",
            b"connection: close\r\n\r\n",
            body,
        ]
        self.transport.write(b"".join(content))


def recording_protocol(base: type[HttpToolsProtocol], sink: RejectionSink) -> type[HttpToolsProtocol]:
    """``base`` (uvicorn's httptools protocol or a subclass) with the hook above, reporting to ``sink``."""
    uvicorn_seam.checked()
    bases = (_RecordingProtocol,) if base is HttpToolsProtocol else (_RecordingProtocol, base)
    return cast(type[HttpToolsProtocol], type("RecordingHttpToolsProtocol", bases, {"sink": sink}))


def parse_head(raw: bytes) -> tuple[str, bytes, list[tuple[bytes, bytes]]] | None:
    """Method, request target and headers of a raw request head, leniently; None when its first line is
    not ``METHOD SP target SP HTTP/x`` (a target may hold raw spaces: everything between is the target)."""
    line, _, rest = raw.partition(b"\n")
    parts = line.rstrip(b"\r").split(b" ")
    if len(parts) < 3 or not parts[-1].startswith(b"HTTP/") or not parts[0].isalpha():
        return None
    headers = []
    for header in rest.split(b"\n"):
        header = header.rstrip(b"\r")
        if not header:
            break
        name, colon, value = header.partition(b":")
        if colon:
            headers.append((name.strip().lower(), value.strip()))
    return parts[0].decode("latin-1"), b" ".join(parts[1:-1]), headers
