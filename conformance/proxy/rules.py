"""What the proxy judges: a client's request head against the contract, an upstream's answer via the oracles.

The request rules are the client's side of the contract, which the checks never needed (the checks *are*
the client): the operation is PUT on ``/v2/{project_id}/taskgroups/{group_id}/stop``, each id is one
correctly percent-encoded segment of 1..1024 characters, and a credential is present (``X-Auth-Token`` of
1..16,384 characters, or in the huawei profile an ``SDK-HMAC-SHA256`` signature). They read only the head
(method, raw path, headers), so ``--enforce`` can refuse a request before a byte of it is forwarded.

The response rules are not written again here: the answer is wrapped as the :class:`Sent` the response
checks of :mod:`conformance.checks.oracles` judge, and those checks are called as they are.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from urllib.parse import unquote_to_bytes

from conformance.checks.machinery.base import Finding, Kind, Sent, echo_candidates
from conformance.checks.machinery.judge import judge_answer
from conformance.checks.machinery.registry import CheckEntry
from conformance.checks.oracles import is_json_content_type
from conformance.checks.suite import BUILTIN
from conformance.redact import echo_forms
from conformance.server.faults import prefer_code
from conformance.spec import Contract, Profile, load_contract
from conformance.spec.documents import (
    COLLECTION_SEGMENT,
    START_SEGMENT,
    STOP_PATH,
    STOP_SEGMENT,
    VERSION_SEGMENT,
)
from conformance.transport.http import HttpResult

# RFC 3986 pchar: a run of what may stand in a path segment, then the first byte that may not (if any).
_BAD_BYTE = re.compile(rb"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})*(.)?", re.DOTALL)
_SIGNATURE = re.compile(
    r"SDK-HMAC-SHA256\s+Access=[^,\s]+,\s*SignedHeaders=[^,\s]+,\s*Signature=[0-9a-fA-F]+\s*"
)

# The operation's literal segments, from the contract's paths: /v2/{project_id}/taskgroups/{group_id}/stop.
_V2, _TASKGROUPS = VERSION_SEGMENT.encode(), COLLECTION_SEGMENT.encode()
_STOP_TAIL, _START_TAIL = STOP_SEGMENT.encode(), START_SEGMENT.encode()

# The requirements each half of the proxy traces to (the CheckResults of a proxy report).
REQUEST_REQUIREMENTS = (
    "STOP-OPERATION",
    "STOP-METHODS",
    "STOP-PROJECT-LEN",
    "STOP-GROUP-LEN",
    "STOP-TOKEN-REQUIRED",
    "STOP-TOKEN-LEN",
)


@dataclass(frozen=True)
class RequestHead:
    """What the proxy knows of a request before its body: enough to judge it and to kind_of its answer."""

    method: str
    raw_path: bytes  # without the query
    kind: Kind  # STOP, OTHER_METHOD, SHOW, or OTHER (a path that is not the operation's)
    token: str | None  # the X-Auth-Token as sent (for echo checks and redaction), never printed
    prefer: int | None = None  # N of a `Prefer: code=N` header: the client asked for that answer


def response_oracles(profile: Profile) -> list[CheckEntry]:
    """The run's own response oracles, from the registry: the proxy judges answers exactly as ``run`` does."""
    return BUILTIN.oracles(Profile(profile))


def response_requirements(profile: Profile) -> tuple[str, ...]:
    found: list[str] = []
    for spec in response_oracles(profile):
        found += [r for r in spec.requirements if r not in found]
    return tuple(found)


def kind_of(method: str, raw_path: bytes, profile: Profile) -> Kind:
    segments = raw_path.split(b"/")
    if (
        len(segments) < 5
        or segments[0]
        or _decoded(segments[1]) != _V2
        or _decoded(segments[3]) != _TASKGROUPS
    ):
        return Kind.OTHER
    if len(segments) == 6 and _decoded(segments[5]) == _STOP_TAIL:
        return Kind.STOP if method == "PUT" else Kind.OTHER_METHOD
    if (
        len(segments) == 6
        and _decoded(segments[5]) == _START_TAIL
        and profile == Profile.HUAWEI
        and method == "PUT"
    ):
        return Kind.START  # the platform's resume: its ids and credential follow the stop's rules
    if len(segments) == 5 and profile == Profile.HUAWEI and method == "GET":
        return Kind.SHOW
    return Kind.OTHER


@cache
def _max_length(parameter: str) -> int:
    """The page's limit of ``parameter``, read once from the contract (the same in every profile)."""
    return load_contract(Profile.STRICT).max_length(parameter)


@cache
def _min_length(parameter: str) -> int:
    return load_contract(Profile.STRICT).min_length(parameter)


def _decoded(segment: bytes) -> bytes:
    return unquote_to_bytes(segment) if b"%" in segment else segment


def check_request(
    method: str, raw_path: bytes, headers: Sequence[tuple[bytes, bytes]], profile: Profile
) -> tuple[RequestHead, list[Finding]]:
    """The request's head and its findings (each naming its requirement); none when it conforms."""
    path = raw_path.partition(b"?")[0]
    kind = kind_of(method, path, profile)
    tokens = [v for n, v in headers if n.lower() == b"x-auth-token"]
    token = tokens[0].decode("latin-1") if tokens else None
    prefer = next((prefer_code(v) for n, v in headers if n.lower() == b"prefer"), None)
    head = RequestHead(method, path, kind, token, prefer)
    findings: list[Finding] = []
    shown = path.decode("latin-1")
    if kind is Kind.OTHER:
        findings.append(
            Finding(
                "Not the stop operation",
                f"{method} {_cut(shown)}",
                f"PUT {STOP_PATH}",
                requirement="STOP-OPERATION",
            )
        )
        return head, findings
    if kind is Kind.OTHER_METHOD:
        findings.append(
            Finding(
                f"{method} on the stop path",
                method,
                "PUT (a stop is PUT; another method never pauses a group)",
                requirement="STOP-METHODS",
            )
        )
    segments = path.split(b"/")
    findings += _id_findings("project_id", "STOP-PROJECT-LEN", segments[2])
    findings += _id_findings("group_id", "STOP-GROUP-LEN", segments[4])
    findings += _credential_findings(tokens, headers, profile)
    return head, findings


def _id_findings(name: str, requirement: str, segment: bytes) -> list[Finding]:
    bad = _BAD_BYTE.match(segment)
    if bad is not None and bad.group(1) is not None:
        return [
            Finding(
                f"{name} is not percent-encoded",
                f"the byte {bad.group(1)!r} as it is in the {name} segment",
                "every character outside RFC 3986 pchar percent-encoded (e.g. ' ' as %20)",
                requirement=requirement,
            )
        ]
    try:
        value = _decoded(segment).decode("utf-8")
    except UnicodeDecodeError:
        return [
            Finding(
                f"{name} is not UTF-8",
                f"{name} whose percent-decoded bytes are not UTF-8",
                f"{_min_length(name)} to {_max_length(name):,} characters of UTF-8 text",
                requirement=requirement,
            )
        ]
    if not _min_length(name) <= len(value) <= _max_length(name):
        what = "empty" if not value else f"{len(value)} characters"
        return [
            Finding(
                f"{name} is {'empty' if not value else 'too long'}",
                f"{name} {what}",
                f"{_min_length(name)} to {_max_length(name):,} characters",
                requirement=requirement,
            )
        ]
    return []


def _credential_findings(
    tokens: list[bytes], headers: Sequence[tuple[bytes, bytes]], profile: Profile
) -> list[Finding]:
    if len(tokens) > 1:
        return [
            Finding(
                "More than one X-Auth-Token",
                f"{len(tokens)} X-Auth-Token headers",
                "exactly one",
                requirement="STOP-TOKEN-REQUIRED",
            )
        ]
    if tokens:
        size = len(tokens[0].decode("utf-8", "replace"))
        allowed = f"1 to {_max_length('X-Auth-Token'):,} characters"
        if not tokens[0].strip():
            return [
                Finding(
                    "Empty X-Auth-Token",
                    f"an X-Auth-Token of {size} blank characters",
                    allowed,
                    requirement="STOP-TOKEN-REQUIRED",
                )
            ]
        if size > _max_length("X-Auth-Token"):
            return [
                Finding(
                    "X-Auth-Token too long",
                    f"an X-Auth-Token of {size} characters",
                    allowed,
                    requirement="STOP-TOKEN-LEN",
                )
            ]
        return []
    authorization = next((v for n, v in headers if n.lower() == b"authorization"), None)
    if profile == Profile.HUAWEI and authorization is not None:
        if _SIGNATURE.fullmatch(authorization.decode("latin-1")) and any(
            n.lower() == b"x-sdk-date" for n, _ in headers
        ):
            return []
        return [
            Finding(
                "Malformed AK/SK signature",
                "an Authorization header that is not `SDK-HMAC-SHA256 Access=..., "
                "SignedHeaders=..., Signature=<hex>` with an X-Sdk-Date",
                "a complete SDK-HMAC-SHA256 signature",
                requirement="STOP-TOKEN-REQUIRED",
            )
        ]
    alternative = " or an SDK-HMAC-SHA256 Authorization (AK/SK)" if profile == Profile.HUAWEI else ""
    return [
        Finding(
            "No credential",
            "no X-Auth-Token header",
            f"X-Auth-Token{alternative}",
            requirement="STOP-TOKEN-REQUIRED",
        )
    ]


# The HTTP message itself. No requirement of the page is about framing, so these trace to STOP-OPERATION:
# a request that is not well-formed HTTP, or whose body is not what it says, is not the documented operation.
_HTTP_MESSAGE = f"an HTTP/1.1 request (RFC 9112): `PUT {STOP_PATH}`"


def check_body(head: RequestHead, headers: Sequence[tuple[bytes, bytes]], body: bytes) -> list[Finding]:
    """A body on a stop must be what its Content-Type says (the stop has no body; an empty one is fine)."""
    if head.kind is not Kind.STOP or not body:
        return []
    content_type = next((v for n, v in headers if n.lower() == b"content-type"), b"").decode("latin-1")
    if not is_json_content_type(content_type):
        return []
    try:
        json.loads(body.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError included
        return [
            Finding(
                "Body is not what its Content-Type says",
                f"Content-Type {_cut(content_type)!r} with {len(body):,} bytes that are not JSON",
                "no body (the stop has none), or one that is what its Content-Type says",
                requirement="STOP-OPERATION",
            )
        ]
    return []


def incomplete_body(description: str) -> list[Finding]:
    """The client announced a body it did not send (``description`` says how much came, and what then)."""
    return [Finding("Incomplete request body", description, _HTTP_MESSAGE, requirement="STOP-OPERATION")]


def broken_framing(description: str) -> list[Finding]:
    return [Finding("Malformed HTTP request", description, _HTTP_MESSAGE, requirement="STOP-OPERATION")]


def check_rejected_head(
    parsed: tuple[str, bytes, list[tuple[bytes, bytes]]] | None, profile: Profile
) -> tuple[RequestHead | None, list[Finding]]:
    """Findings on a request head the HTTP parser refused: the request rules on what could be read of it,
    or "malformed" when they find nothing (the parser refused it for a reason no rule here models)."""
    if parsed is None:
        return None, broken_framing("a first line that is not `METHOD /path HTTP/1.1`")
    method, target, headers = parsed
    head, findings = check_request(method, target, headers, profile)
    return head, findings or broken_framing("a request head the HTTP parser refused")


def _cut(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


@dataclass(frozen=True)
class _ExchangeOracleContext:
    """The proxy's side of :class:`~conformance.checks.machinery.base.OracleContext`: the contract, the
    proxy's own upstream timeout, and the credentials of this one exchange."""

    contract: Contract
    request_timeout: float
    credentials: tuple[str, ...]

    def exchange_secrets(self, sent: Sent) -> Sequence[str]:
        # Each credential in every form an echo may take (the forms the evidence is redacted in).
        return list(dict.fromkeys(f for v in echo_candidates(sent, self.credentials) for f in echo_forms(v)))


def check_response(
    contract: Contract,
    head: RequestHead,
    result: HttpResult,
    credentials: Sequence[str],
    *,
    request_timeout: float,
) -> list[Finding]:
    """Findings on an upstream's answer by the run's own oracles, judged as the runner judges them
    (checks/machinery/judge.py).

    ``credentials`` are this request's own credential values: an answer is blamed for echoing only what its
    own request carried."""
    ctx = _ExchangeOracleContext(contract, request_timeout, tuple(credentials))
    path = head.raw_path.decode("latin-1")
    sent = Sent(head.method, path, head.kind, head.token, result, "proxy-response", forced_status=head.prefer)
    oracles = response_oracles(contract.profile)
    if head.kind is Kind.OTHER:
        # An answer to a path that is not the operation has no contract, but for the checks of any path.
        oracles = [spec for spec in oracles if spec.any_path]
    return [finding for _, finding in judge_answer(oracles, ctx, sent)]
