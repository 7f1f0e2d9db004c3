"""What the proxy keeps of an exchange it blames: a :class:`Violation`, with evidence redacted per exchange.

Why per exchange: a proxy sees any number of distinct credentials (a client may mint a token per request),
so redaction that depends on remembering every one of them runs out - the 1,001st token of a 1,000-entry
memory went into ``conformance.json`` in clear. Here nothing depends on memory across exchanges:

- a credential header (``X-Auth-Token``, ``X-Security-Token``) is replaced by its position, whatever its
  value (even one too short to search for elsewhere), in the request and in the answer;
- every credential value of *this* exchange is replaced wherever it appears in this exchange's evidence
  (URL, other headers, body excerpt, message), in every form an echo may take (:func:`echo_forms`);
- as defence in depth, the few most recent long credentials are replaced too, so an upstream that hands
  one caller's token to the next does not put it in the report. That memory is bounded and a miss there
  leaks nothing the two rules above do not already cover.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from conformance.checks.machinery.base import MIN_ECHO_CHARS, Finding
from conformance.redact import Redactor
from conformance.results import Exchange, Failure
from conformance.spec import load_requirements
from conformance.transport.http import EXCERPT, HttpResult

Side = Literal["client", "server"]
SECRET_HEADERS = frozenset({"x-auth-token", "x-security-token"})
PLACEHOLDER = "$OMS_TOKEN"
RECENT_CREDENTIALS = 64
_SIDES: dict[str, Side] = {"proxy-request": "client", "proxy-response": "server"}


# Who answered a request the proxy refused itself (``Failure.layer``).
PROXY_LAYER = "proxy"


@dataclass
class Violation:
    """One finding about live traffic: which side broke which requirement, as the report's
    :class:`~conformance.results.Failure` (its fields and its one piece of redacted evidence)."""

    check: str  # "proxy-request" (the client) | "proxy-response" (the upstream)
    failure: Failure
    enforced: bool = False  # answered by the proxy itself (refused, or rejected by its HTTP layer)
    # The credentials its evidence was redacted for: write_reports' leak check reads them. Never printed.
    secrets: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @property
    def requirement(self) -> str:
        return self.failure.requirement

    @property
    def title(self) -> str:
        return self.failure.title

    @property
    def exchange(self) -> Exchange:
        return self.failure.evidence[0]

    @property
    def side(self) -> Side:
        """Who broke the requirement: the ``client`` under test or the ``server`` it talks to."""
        return _SIDES[self.check]

    def line(self) -> str:
        """One line for a live log: requirement, side, title, the exchange, what was received."""
        blocked = " [answered by the proxy]" if self.enforced else ""
        return (
            f"{self.requirement} ({self.side}) {self.title}: {self.exchange.describe()}{blocked}"
            f" | Received: {self.failure.received}"
        )


def credentials(headers: Iterable[tuple[bytes, bytes]]) -> list[str]:
    """The values of a request's credential headers: what its answer must not echo nor its evidence show."""
    return [
        v.decode("latin-1") for n, v in headers if n.decode("latin-1").lower() in SECRET_HEADERS and v.strip()
    ]


class RecentCredentials:
    """The last few long credential values seen, for the defence-in-depth rule above (bounded)."""

    def __init__(self, size: int = RECENT_CREDENTIALS) -> None:
        self._size = size
        self._values: OrderedDict[str, None] = OrderedDict()

    def note(self, values: Iterable[str]) -> None:
        for value in values:
            if len(value) >= MIN_ECHO_CHARS:
                self._values[value] = None
                self._values.move_to_end(value)
                while len(self._values) > self._size:
                    self._values.popitem(last=False)

    def values(self) -> list[str]:
        return list(self._values)


@dataclass(frozen=True)
class Request:
    """A request as the client sent it, unredacted (never stored beyond its exchange)."""

    method: str
    raw_path: bytes  # without the query: a query is the client's to fill, and no rule reads it
    headers: Sequence[tuple[bytes, bytes]]

    @property
    def credentials(self) -> list[str]:
        return credentials(self.headers)


def build_violations(
    findings: Sequence[Finding],
    check: str,
    request: Request,
    upstream: str,
    result: HttpResult | None,
    elapsed_ms: float,
    recent: Sequence[str],
    enforced: bool = False,
) -> list[Violation]:
    """Violations for ``findings`` about one exchange, sharing one piece of redacted evidence."""
    own = request.credentials
    redact = Redactor((value, PLACEHOLDER) for value in [*own, *recent])
    # Redacted whole, then cut: a cut first could leave the head of a secret standing at the edge.
    text = redact.text((result.body if result is not None else b"").decode("utf-8", "replace"))
    sent = ((n.decode("latin-1"), v.decode("latin-1")) for n, v in request.headers)
    exchange = Exchange(
        method=request.method,
        url=_cut(redact.text(upstream.rstrip("/") + request.raw_path.decode("latin-1"))),
        request_headers=_headers(redact, sent),
        status=result.status if result is not None else None,
        response_headers=_headers(redact, result.headers if result is not None else ()),
        response_body=text[:EXCERPT],
        body_truncated=len(text) > EXCERPT or bool(result and result.truncated),
        elapsed_ms=round(elapsed_ms, 3),
        error=redact.text(result.error) if result is not None and result.error else None,
        outcome=result.outcome.value if result is not None else "not_sent",
    )
    kept = tuple(sorted(set(own)))
    catalogue = load_requirements()
    violations = []
    for finding in findings:
        failure = finding.failure(check, catalogue[finding.requirement].severity)
        failure = replace(
            failure,
            title=redact.text(failure.title),
            received=redact.text(failure.received),
            expected=redact.text(failure.expected),
            why=redact.text(failure.why),
            more=redact.text(failure.more),
            layer=PROXY_LAYER if enforced else failure.layer,
            evidence=[exchange],
        )
        violations.append(Violation(check, failure, enforced, kept))
    return violations


def _headers(redact: Redactor, headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    # Values redacted whole, then shortened (a 16,384-character header is evidence of its length only).
    return {
        name: PLACEHOLDER if name.lower() in SECRET_HEADERS else _cut(redact.text(value), 200)
        for name, value in headers
    }


def _cut(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else f"{text[:limit]}...({len(text)} characters)"
