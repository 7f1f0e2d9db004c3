"""AK/SK request signing (``SDK-HMAC-SHA256``) as the official Huawei Cloud SDK computes it.

The rules (huaweicloudsdkcore/signer/signer.py): CanonicalRequest = METHOD, CanonicalURI (each segment of
the *unquoted* path re-quoted with only ``~`` safe, and a trailing ``/``), canonical query, the signed
headers as ``name:value`` lines (lower-case names, stripped values), the signed header names joined by
``;``, and the hex SHA-256 of the body. StringToSign = algorithm, X-Sdk-Date, hex SHA-256 of the canonical
request; the signature is hex HMAC-SHA256(SK, StringToSign). The client here and any verifier share this
module, and tests compare it with the SDK's own signer.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import quote, unquote

ALGORITHM = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"


def canonical_uri(raw_path: str) -> str:
    uri = "/".join(quote(segment, safe="~") for segment in unquote(raw_path).split("/"))
    return uri if uri.endswith("/") else uri + "/"


def canonical_request(
    method: str, raw_path: str, query: str, headers: Mapping[str, str], signed: list[str], body: bytes = b""
) -> str:
    lowered = {name.lower(): str(value).strip() for name, value in headers.items()}
    header_lines = "".join(f"{name}:{lowered.get(name, '')}\n" for name in signed)
    return "\n".join(
        [
            method.upper(),
            canonical_uri(raw_path),
            query,
            header_lines,
            ";".join(signed),
            hashlib.sha256(body).hexdigest(),
        ]
    )


def signature(sk: str, sdk_date: str, canonical: str) -> str:
    string_to_sign = f"{ALGORITHM}\n{sdk_date}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    return hmac.new(sk.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


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
    names = sorted(name.lower() for name in signed_headers if "_" not in name)
    canonical = canonical_request(method, raw_path, "", signed_headers, names, body)
    sig = signature(sk, signed_headers["X-Sdk-Date"], canonical)
    signed_headers["Authorization"] = (
        f"{ALGORITHM} Access={ak}, SignedHeaders={';'.join(names)}, Signature={sig}"
    )
    return signed_headers
