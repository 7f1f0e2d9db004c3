"""Reading one HTTP/1.1 response from a raw stream, for the requests the race sends without an HTTP client.

Only what an answer needs to be judged like the client's answers: the status (interim 1xx answers are
skipped), the header fields (names lower-cased, decoded as httpx decodes them), and the body as it came on
the wire - de-chunked but not decompressed, as ``aiter_raw`` gives it - whether its end is a
Content-Length, the last chunk or the connection closing. At most ``cap`` bytes of body are kept; reading
stops there (the answer is then marked truncated). What was read so far stays in :class:`Answer` when
reading fails, so a failed exchange still shows the status that came.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

READ_SIZE = 64 * 1024
NO_BODY = {204, 304}


class ProtocolError(ValueError):
    """The bytes are not an HTTP/1.1 response."""


@dataclass
class Answer:
    cap: int
    status: int | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0
    truncated: bool = False

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def take(self, data: bytes) -> bool:
        """Keep ``data``; False once more than ``cap`` bytes came (then reading stops)."""
        self.chunks.append(data)
        self.size += len(data)
        if self.size > self.cap:
            self.truncated = True
        return not self.truncated


async def read_answer(reader: asyncio.StreamReader, method: str, answer: Answer) -> None:
    """Read one response into ``answer``; raises on a connection failure or a malformed response."""
    while True:
        status, headers = await _read_head(reader)
        if not (100 <= status < 200) or status == 101:
            break  # interim answers (100 Continue, 103 Early Hints) precede the real one
    coding = _last(headers, "transfer-encoding")
    chunked = coding is not None and coding.lower().rsplit(",", 1)[-1].strip() == "chunked"
    length = _last(headers, "content-length")
    if not chunked and length is not None and not length.strip().isdigit():
        # Refused with the head, as h11 refuses it: no status is reported for an unframed answer.
        raise ProtocolError(f"Content-Length {length!r} is not a number")
    answer.status, answer.headers = status, headers
    if method == "HEAD" or status in NO_BODY or 100 <= status < 200:
        return
    if chunked:
        await _read_chunked(reader, answer)
    else:  # without a length, the body ends when the connection closes
        await _read_sized(reader, None if length is None else int(length), answer)


def _last(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in reversed(headers) if key == name), None)


async def _read_head(reader: asyncio.StreamReader) -> tuple[int, list[tuple[str, str]]]:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *lines = head[:-4].split(b"\r\n")
    version, _, rest = status_line.partition(b" ")
    code = rest[:3]
    if not version.startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit():
        raise ProtocolError(f"not an HTTP/1.1 status line: {status_line[:80]!r}")
    raw: list[tuple[bytes, bytes]] = []
    for line in lines:
        if line[:1] in (b" ", b"\t") and raw:  # obsolete line folding: part of the previous value
            raw[-1] = (raw[-1][0], raw[-1][1] + b" " + line.strip())
            continue
        name, colon, value = line.partition(b":")
        if not colon or not name or name != name.strip():
            raise ProtocolError(f"malformed header line: {line[:80]!r}")
        raw.append((name.lower(), value.strip()))
    encoding = header_encoding(raw)
    return int(code), [(k.decode(encoding), v.decode(encoding)) for k, v in raw]


def header_encoding(raw: list[tuple[bytes, bytes]]) -> str:
    """httpx's rule: ASCII if every header fits, else UTF-8 if every header fits, else ISO-8859-1."""
    for encoding in ("ascii", "utf-8"):
        try:
            for key, value in raw:
                key.decode(encoding)
                value.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    return "iso-8859-1"


async def _read_sized(reader: asyncio.StreamReader, length: int | None, answer: Answer) -> bool:
    """``length`` bytes (None: until the connection closes); False once the cap is reached."""
    remaining = length
    while remaining is None or remaining > 0:
        data = await reader.read(READ_SIZE if remaining is None else min(remaining, READ_SIZE))
        if not data:
            if remaining is None:
                return True
            raise asyncio.IncompleteReadError(b"", remaining)  # closed before the whole body came
        if remaining is not None:
            remaining -= len(data)
        if not answer.take(data):
            return False
    return True


async def _read_chunked(reader: asyncio.StreamReader, answer: Answer) -> None:
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size_text = size_line.split(b";", 1)[0].strip()
        if not re.fullmatch(rb"[0-9A-Fa-f]{1,16}", size_text):  # int() would take "0x1f", "-1", "1_0"
            raise ProtocolError(f"malformed chunk size: {size_line[:40]!r}")
        size = int(size_text, 16)
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":
                pass  # trailer fields: not part of what is judged
            return
        if not await _read_sized(reader, size, answer):
            return
        if await reader.readexactly(2) != b"\r\n":
            raise ProtocolError("a chunk does not end with CRLF")
