"""How an exchange ended, decided in one place for every way of sending (client, race, the proxy's upstream).

Verdicts branch on :class:`Outcome`, never on exception text. :func:`classify` maps what the HTTP libraries
raise (httpx for the fallback paths, h11 and the socket layer of :mod:`conformance.transport.h1` for the rest)
onto it, so that a reset reads the same whichever code path met it.
"""

from __future__ import annotations

import ssl
import sys
from enum import StrEnum

import h11


class Outcome(StrEnum):
    """How an exchange ended::

    ANSWERED           a complete answer (a body longer than MAX_BODY is cut by us: still answered)
    CUT_OFF            status and headers came, then the connection failed mid-body
    DROPPED            connected, then the connection closed or broke before any status
    TIMED_OUT          no complete answer within the request timeout (a status may have come)
    CONNECT_FAILED     no connection could be made (refused, DNS, TLS handshake)
    NOT_SENT           the HTTP client refused to build or send the request (e.g. a byte HTTP forbids)
    CLOSED_WHILE_HELD  the server closed a connection the tool itself held half-sent (the race's last-byte
                       hold), as a server with a short header timeout may: the tool's doing, never evidence
    """

    ANSWERED = "answered"
    CUT_OFF = "cut_off"
    DROPPED = "dropped"
    TIMED_OUT = "timed_out"
    CONNECT_FAILED = "connect_failed"
    NOT_SENT = "not_sent"
    CLOSED_WHILE_HELD = "closed_while_held"

    @property
    def server_failed(self) -> bool:
        """The server (or what stands in front of it) broke the exchange: a robustness finding."""
        return self in (Outcome.CUT_OFF, Outcome.DROPPED)

    @property
    def inconclusive(self) -> bool:
        """Nothing about the request can be concluded from this exchange."""
        return self is not Outcome.ANSWERED


class ConnectFailed(Exception):
    """No connection could be made (refused, DNS, TLS handshake); the message is the OS's."""


class ReadError(Exception):
    """The connection broke while the answer was read (httpx's name for it, so reports read alike)."""


# What each library raises, by outcome. Order matters: httpx's LocalProtocolError and ConnectError are
# HTTPErrors, and the last row catches every other failure of the connection. httpx's rows only once httpx is
# imported (transports.py imports it when a request first goes through it): none of its errors before.
def _by_exception() -> tuple[tuple[tuple[type[BaseException], ...], Outcome], ...]:
    httpx = sys.modules.get("httpx")
    if httpx is None:
        return (
            ((TimeoutError,), Outcome.TIMED_OUT),
            ((h11.LocalProtocolError,), Outcome.NOT_SENT),
            ((ConnectFailed,), Outcome.CONNECT_FAILED),
            ((h11.RemoteProtocolError, ReadError, OSError), Outcome.DROPPED),
        )
    return (
        ((TimeoutError, httpx.TimeoutException), Outcome.TIMED_OUT),
        ((httpx.LocalProtocolError, h11.LocalProtocolError), Outcome.NOT_SENT),
        ((httpx.ConnectError, ConnectFailed), Outcome.CONNECT_FAILED),
        ((httpx.HTTPError, h11.RemoteProtocolError, ReadError, OSError), Outcome.DROPPED),
    )


def send_failures() -> tuple[type[BaseException], ...]:
    """What a failed exchange raises (every other exception is a bug of ours): what :func:`classify` takes."""
    return tuple(kind for kinds, _ in _by_exception() for kind in kinds)


def classify(exc: BaseException, *, status_seen: bool) -> tuple[Outcome, str]:
    """The outcome of an exchange that raised ``exc``, and the detail to show (never to branch on).

    ``status_seen``: the answer's status line had arrived (a broken connection is then a cut-off answer).
    Anything else - a bug of ours - is raised again rather than passed off as the server's failure.
    """
    for kinds, outcome in _by_exception():
        if not isinstance(exc, kinds):
            continue
        if outcome is Outcome.DROPPED:  # broken: after the status line, a cut-off answer
            detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            return (Outcome.CUT_OFF if status_seen else Outcome.DROPPED), detail
        detail = "" if outcome is Outcome.TIMED_OUT else (str(exc) or type(exc).__name__)
        return outcome, detail
    raise exc


def describe_failure(outcome: Outcome, detail: str, timeout: float) -> str:
    """The display text of a failed exchange; verdicts never read it (a test rewrites it)."""
    if outcome is Outcome.TIMED_OUT:
        return f"no complete answer within {timeout:g}s"
    if outcome is Outcome.NOT_SENT:
        return f"not sent: the HTTP client refused the request ({detail})"
    if outcome is Outcome.CONNECT_FAILED:
        return f"connection failed: {detail}"
    if outcome is Outcome.CLOSED_WHILE_HELD:
        return f"the server closed the connection the race held half-sent ({detail}): not evidence"
    return detail


# The TLS alerts a server sends about the client's certificate: none was given, or it is not trusted.
_CLIENT_CERTIFICATE_ALERTS = frozenset(
    {
        "TLSV13_ALERT_CERTIFICATE_REQUIRED",
        "SSLV3_ALERT_BAD_CERTIFICATE",
        "TLSV1_ALERT_UNKNOWN_CA",
        "SSLV3_ALERT_CERTIFICATE_EXPIRED",
        "TLSV1_ALERT_ACCESS_DENIED",
    }
)


def certificate_refused(exc: BaseException) -> tuple[str, str] | None:
    """A TLS certificate refused, when that is what ``exc`` - or what it was raised from - says: ("server",
    why the client refused the server's: untrusted, another host's, expired) or ("client", the server's
    alert about the client's: none given, not trusted). A configuration to fix, not a target that is down
    (runner/engine.py); else None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLCertVerificationError):
            return "server", str(current.verify_message or current.reason or current)
        if isinstance(current, ssl.SSLError) and current.reason in _CLIENT_CERTIFICATE_ALERTS:
            return "client", str(current.reason)
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
