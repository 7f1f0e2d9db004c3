"""Content codings (RFC 9110 §8.4): what the client accepts, and the decoding of what a server sends.

Why it matters: a client that says ``Accept-Encoding: gzip`` invites every hop to compress, and nginx with
``gzip on`` or any CDN does so for JSON error bodies. What the application sent - the thing the checks judge -
is the *decoded* body, so every answer is decoded here, whichever code path read it, before any oracle sees
it. Only codings the standard library decodes are advertised; a coding that arrives unasked is decoded if it
can be, and otherwise kept as it came, with the reason, so that no check reads compressed bytes as the
application's words.

Decoding is bounded: at most ``cap`` bytes come out however small the input (a "zip bomb" is cut there and
marked truncated, like an over-long body).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

ACCEPT_ENCODING = "gzip, deflate"  # what the client advertises: exactly what decode() can undo
_GZIP = 16 + zlib.MAX_WBITS  # zlib's wbits for a gzip wrapper
_ZLIB, _RAW_DEFLATE = zlib.MAX_WBITS, -zlib.MAX_WBITS


@dataclass(frozen=True)
class Decoded:
    body: bytes
    coding: str = ""  # the Content-Encoding as sent, normalised ("gzip"); "" for none
    truncated: bool = False  # more than ``cap`` bytes came out: cut there
    problem: str = ""  # why the body is kept (partly) encoded, or where its encoding is broken
    unsupported: bool = False  # a coding the client cannot undo: the body is not the application's words

    @property
    def decoded(self) -> bool:
        return not self.problem


def codings_of(content_encoding: str | None) -> list[str]:
    """The codings applied, in the order applied; identity (a no-op) left out."""
    if not content_encoding:
        return []
    found = (part.strip().lower() for part in content_encoding.split(","))
    return [coding for coding in found if coding and coding != "identity"]


def decode(body: bytes, content_encoding: str | None, cap: int, *, complete: bool = True) -> Decoded:
    """``body`` with its content codings undone (last applied, first undone), at most ``cap`` bytes.

    ``complete``: the whole body was read. A body we cut ourselves (at the read cap, or an exchange that
    failed mid-body) ends mid-stream, which is not the sender's error.
    """
    codings = codings_of(content_encoding)
    shown = ", ".join(codings)
    if not codings or not body:
        return Decoded(body, shown)
    data, truncated = body, False
    for position, coding in enumerate(reversed(codings)):
        try:
            data, cut, ended = _undo(coding, data, cap)
        except _Unknown:
            undone = codings[len(codings) - position :]
            why = f"content coding {coding!r} is not one the client decodes ({ACCEPT_ENCODING})"
            why += f"; {', '.join(undone)} undone" if undone else ""
            return Decoded(data, shown, truncated, why, unsupported=True)
        except zlib.error as exc:
            return Decoded(data, shown, truncated, f"the {coding} data is corrupt ({exc})")
        if not ended and complete and not cut:
            return Decoded(data, shown, truncated, f"the {coding} data ends before its end marker")
        # What a layer cut at the cap gives the next one is a prefix: decoded as far as it goes.
        truncated, complete = truncated or cut, complete and not cut
    return Decoded(data, shown, truncated)


class _Unknown(Exception):
    pass


def _undo(coding: str, data: bytes, cap: int) -> tuple[bytes, bool, bool]:
    """One coding undone: (output, cut at ``cap``, the stream's end marker was reached)."""
    if coding in ("gzip", "x-gzip"):
        return _inflate(data, _GZIP, cap, members=True)
    if coding == "deflate":
        # RFC 9110 names the zlib format; some servers send raw deflate, which browsers and httpx accept.
        try:
            return _inflate(data, _ZLIB, cap, members=False)
        except zlib.error:
            return _inflate(data, _RAW_DEFLATE, cap, members=False)
    raise _Unknown(coding)


def _inflate(data: bytes, wbits: int, cap: int, *, members: bool) -> tuple[bytes, bool, bool]:
    out = bytearray()
    ended = False
    while data:
        stream = zlib.decompressobj(wbits)
        out += stream.decompress(data, cap + 1 - len(out))
        if len(out) > cap:
            return bytes(out[:cap]), True, stream.eof
        ended = stream.eof
        # A gzip file may hold several members one after the other (RFC 1952 §2.2): each is decoded.
        data = stream.unused_data if members and stream.eof else b""
    return bytes(out), False, ended
