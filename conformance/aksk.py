"""AK/SK request signing (``SDK-HMAC-SHA256``) as the official Huawei Cloud SDK computes it.

One implementation for both sides: the runner signs with :func:`sign_headers`, the reference server verifies
with :func:`canonical_request` and :func:`signature`, and tests compare both with the SDK's own signer
(``huaweicloudsdkcore/signer/signer.py``). The rules:

- CanonicalURI: the raw path percent-decoded as a whole, split on ``/``, each segment re-quoted with only
  ``~`` safe, a trailing ``/`` appended (so an id holding ``%2F`` signs like two segments - as the SDK does);
- CanonicalQuery: pairs decoded, sorted, re-quoted the same way, ``k=v`` joined by ``&``;
- CanonicalHeaders: ``name:value.strip()`` per signed header, in SignedHeaders order, each ending ``\\n``;
- payload hash: SHA-256 of the body, of nothing for an empty body, or ``X-Sdk-Content-Sha256`` when sent;
- StringToSign: ``SDK-HMAC-SHA256\\n<X-Sdk-Date>\\n<hex sha256(CanonicalRequest)>``; the signature is
  hex HMAC-SHA256(SK, StringToSign).

It works on bytes because the server verifies what arrived on the wire, byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from urllib.parse import quote_from_bytes, unquote_to_bytes

ALGORITHM = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_EMPTY_SHA256 = b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"  # sha256 of nothing


def _quote(segment: bytes) -> bytes:
    return quote_from_bytes(segment, safe="~").encode("ascii")


def canonical_request(
    method: str,
    raw_path: bytes,
    query: bytes,
    signed: Sequence[tuple[bytes, bytes]],
    body: bytes = b"",
    headers: Mapping[bytes, bytes] | None = None,
) -> bytes:
    """The CanonicalRequest; ``signed`` are the (lower-case name, value) pairs in SignedHeaders order."""
    uri = b"/".join(_quote(segment) for segment in unquote_to_bytes(raw_path).split(b"/"))
    if not uri.endswith(b"/"):
        uri += b"/"
    pairs = sorted(
        (unquote_to_bytes(k), unquote_to_bytes(v))
        for k, _, v in (part.partition(b"=") for part in query.split(b"&") if part)
    )
    canonical_query = b"&".join(_quote(k) + b"=" + _quote(v) for k, v in pairs)
    canonical_headers = b"".join(name + b":" + value.strip() + b"\n" for name, value in signed)
    import hashlib  # here: a run whose credential is a token signs nothing, and its start is the lighter

    if not body:
        payload = _EMPTY_SHA256
    else:
        payload = (headers or {}).get(b"x-sdk-content-sha256") or hashlib.sha256(body).hexdigest().encode()
    names = b";".join(name for name, _ in signed)
    return b"\n".join((method.upper().encode(), uri, canonical_query, canonical_headers, names, payload))


def signature(sk: str, sdk_date: bytes, canonical: bytes) -> str:
    import hashlib
    import hmac

    string_to_sign = (
        ALGORITHM.encode() + b"\n" + sdk_date + b"\n" + hashlib.sha256(canonical).hexdigest().encode()
    )
    return hmac.new(sk.encode(), string_to_sign, hashlib.sha256).hexdigest()


def sign_headers(
    method: str,
    raw_path: str,
    headers: Mapping[str, str],
    ak: str,
    sk: str,
    *,
    now: datetime | None = None,
    body: bytes = b"",
) -> dict[str, str]:
    """``headers`` plus X-Sdk-Date and the Authorization header; every header given is signed."""
    signed_headers = dict(headers)
    signed_headers["X-Sdk-Date"] = (now or datetime.now(UTC)).strftime(DATE_FORMAT)
    # Like the SDK: every header is signed except names with an underscore.
    values = {name.lower().encode("latin-1"): value.encode("utf-8") for name, value in signed_headers.items()}
    names = sorted(name for name in values if b"_" not in name)
    path, _, query = raw_path.partition("?")
    canonical = canonical_request(
        method, path.encode("latin-1"), query.encode("latin-1"), [(n, values[n]) for n in names], body, values
    )
    sig = signature(sk, signed_headers["X-Sdk-Date"].encode(), canonical)
    signed_list = ";".join(n.decode("latin-1") for n in names)
    signed_headers["Authorization"] = f"{ALGORITHM} Access={ak}, SignedHeaders={signed_list}, Signature={sig}"
    return signed_headers
