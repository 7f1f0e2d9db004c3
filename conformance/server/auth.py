"""Credential checks: ``X-Auth-Token``, and AK/SK signatures verified the way the official SDK signs.

The SDK (``huaweicloudsdkcore`` 3.1.x, ``signer/signer.py``) never sends a token: it signs every request
header it sets itself (``Host``, ``Content-Type``, ``User-Agent``, ``X-Sdk-Date``, ``X-Project-Id`` and,
with temporary credentials, ``X-Security-Token``) and adds::

    Authorization: SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<a;b;c>, Signature=<hex>

The server rebuilds the canonical request from what arrived (it never trusts a value the client could not
have signed) with :mod:`conformance.aksk` - the same code the runner signs with - and compares
HMAC-SHA256(SK, StringToSign) in constant time. The rules, from the SDK:

- CanonicalURI: the raw path percent-decoded as a whole, split on ``/``, each segment re-quoted with only
  ``~`` safe, a trailing ``/`` appended (so an id holding ``%2F`` signs like two segments - as the SDK does);
- CanonicalQuery: pairs decoded, sorted, re-quoted the same way, ``k=v`` joined by ``&``;
- CanonicalHeaders: ``name:value.strip()`` per signed header, in SignedHeaders order, each ending ``\\n``;
- payload hash: SHA-256 of the body, the SHA-256 of nothing for an empty body, or the value of
  ``X-Sdk-Content-Sha256`` when present (``UNSIGNED-PAYLOAD``);
- StringToSign: ``SDK-HMAC-SHA256\\n<X-Sdk-Date>\\n<hex sha256(CanonicalRequest)>``.

Extra rules of this server: ``host`` and ``x-sdk-date`` must be signed, and so must ``x-project-id`` and
``x-security-token`` when sent; ``X-Sdk-Date`` must be within 15 minutes of the server's clock; an AK with a
security token requires the same ``X-Security-Token`` and an AK without one refuses it. Unknown AK and
wrong signature get the same answer (no AK enumeration). When a request carries ``X-Auth-Token``, the token
decides and any signature is ignored: that lets the SDK send a token through ``invoker.add_header``.
"""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

from conformance.aksk import canonical_request, signature
from conformance.server.store import AccessKey, Principal
from conformance.spec import Profile, load_contract

# The page's maximum length of X-Auth-Token, read from the contract; an AK/SK Authorization header is held to
# the same bound (the page gives none for it).
MAX_TOKEN_CHARS = load_contract(Profile.STRICT).max_length("X-Auth-Token")
MAX_AUTHORIZATION_CHARS = MAX_TOKEN_CHARS
CLOCK_SKEW_SECONDS = 15 * 60
_AUTHORIZATION = re.compile(
    rb"SDK-HMAC-SHA256\s+Access=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-fA-F]{64})\s*"
)
_SDK_DATE = re.compile(rb"\d{8}T\d{6}Z")
_VISIBLE = re.compile(rb"[\x21-\x7e]+")
_MUST_SIGN_IF_SENT = (b"x-project-id", b"x-security-token")


class Refusal(Enum):
    MISSING = "missing"  # no credential, or an empty or whitespace-only one
    MALFORMED = "malformed"  # a credential that cannot be a valid one (bad characters, bad syntax)
    INVALID = "invalid"  # well-formed but unknown, expired, or the signature does not match


@dataclass(frozen=True)
class AuthResult:
    """Either a principal or a refusal. ``reason`` is safe to show: it never holds a credential."""

    principal: Principal | None = None
    refusal: Refusal | None = None
    reason: str = ""
    project_header: bytes | None = None  # X-Project-Id of a signed request, for the caller to compare


class Authenticator:
    def __init__(
        self,
        tokens: Mapping[str, Principal],
        keys: Mapping[str, AccessKey],
        clock: Callable[[], float] = time.time,
        skew: float = CLOCK_SKEW_SECONDS,
    ) -> None:
        # A known token's result is built once: the token check is on every request's path.
        self._tokens = {token.encode("ascii"): AuthResult(principal=p) for token, p in tokens.items()}
        self._keys = dict(keys)
        self._clock = clock
        self._skew = skew

    def check_token(self, token: bytes) -> AuthResult:
        known = self._tokens.get(token)
        if known is not None:
            return known
        if not token.strip():
            return AuthResult(refusal=Refusal.MISSING, reason="x-auth-token not found")
        # Tokens are printable ASCII without spaces (fixtures enforce it); anything else cannot be one.
        if not _VISIBLE.fullmatch(token):
            return AuthResult(refusal=Refusal.MALFORMED, reason="malformed x-auth-token")
        return AuthResult(refusal=Refusal.INVALID, reason="decrypt token fail")

    def check_signature(
        self,
        method: str,
        raw_path: bytes,
        query: bytes,
        headers: Sequence[tuple[bytes, bytes]],
        body: bytes,
    ) -> AuthResult:
        values: dict[bytes, bytes] = {}
        for name, value in headers:
            values[name.lower()] = value
        authorization = values.get(b"authorization", b"")
        match = None
        if len(authorization) <= MAX_AUTHORIZATION_CHARS:
            match = _AUTHORIZATION.fullmatch(authorization)
        date = values.get(b"x-sdk-date", b"")
        if not authorization.strip():
            return AuthResult(refusal=Refusal.MISSING, reason="authorization not found")
        if match is None or not _SDK_DATE.fullmatch(date):
            return AuthResult(refusal=Refusal.MALFORMED, reason="malformed AK/SK authorization")
        try:
            signed_at = datetime.strptime(date.decode(), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
        except ValueError:
            return AuthResult(refusal=Refusal.MALFORMED, reason="malformed x-sdk-date")
        if abs(self._clock() - signed_at) > self._skew:
            return AuthResult(refusal=Refusal.INVALID, reason="x-sdk-date is outside the allowed clock skew")
        access, signed_list, sent_signature = match.groups()
        signed = signed_list.split(b";")
        required = [b"host", b"x-sdk-date", *(n for n in _MUST_SIGN_IF_SENT if n in values)]
        if any(name not in signed for name in required) or any(name not in values for name in signed):
            return AuthResult(refusal=Refusal.INVALID, reason="verify aksk signature fail")
        key = self._keys.get(access.decode("latin-1"))
        if key is None or not self._security_token_ok(key, values.get(b"x-security-token")):
            return AuthResult(refusal=Refusal.INVALID, reason="verify aksk signature fail")
        canonical = canonical_request(method, raw_path, query, [(n, values[n]) for n in signed], body, values)
        expected = signature(key.sk, date, canonical).encode()
        if not hmac.compare_digest(expected, sent_signature.lower()):
            return AuthResult(refusal=Refusal.INVALID, reason="verify aksk signature fail")
        return AuthResult(principal=key.principal, project_header=values.get(b"x-project-id"))

    @staticmethod
    def _security_token_ok(key: AccessKey, sent: bytes | None) -> bool:
        if key.security_token is None:
            return sent is None
        return sent is not None and hmac.compare_digest(sent, key.security_token.encode())
