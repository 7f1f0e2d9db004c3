"""What every check works with: the exchange it judges (:class:`Sent`), what it finds (:class:`Finding`),
and the narrow view of a run that a response oracle may read (:class:`OracleContext`).

The oracle interface is deliberately small so that two very different callers satisfy it: the runner's
:class:`~conformance.checks.context.CheckContext`, and the validating proxy, which judges answers it merely
forwards. An oracle reads the profile, the contract, the request timeout and the secrets *of this exchange*,
and returns a :class:`Finding` or None.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from conformance.spec import Contract
from conformance.transport.http import HttpResult


class Kind(StrEnum):
    """What a request was meant to be; oracles judge a stop's answer differently from a show's."""

    STOP = "stop"
    OTHER_METHOD = "other-method"  # another method on the stop path
    SHOW = "show"
    START = "start"
    OTHER = "other"  # a path that is not the operation (the proxy sees those)


@dataclass
class Sent:
    """A request as a check meant it, and the answer."""

    method: str
    path: str
    kind: Kind
    sent_token: str | None  # the X-Auth-Token this request carried, if any
    result: HttpResult
    check: str
    # False for a request that could pause a listed group: it was sent once, never repeated, so a 5xx to it
    # may be a passing fault that no retry could rule out.
    repeatable: bool = True
    request_class: str = ""  # its class for the run's hang budget (checks/hang_budget.py); "" if none


@dataclass(frozen=True)
class Finding:
    """A violation of one requirement, with the exchange that shows it."""

    requirement: str
    title: str
    message: str  # "Received: ...\nExpected: ..."
    sent: Sent | None = None


class NotRun(Exception):
    """Raised by a check that cannot run against this target; the message says why."""


class OracleContext(Protocol):
    """The part of a run a response oracle may read."""

    @property
    def contract(self) -> Contract: ...

    @property
    def request_timeout(self) -> float: ...

    def exchange_secrets(self, sent: Sent) -> Sequence[str]:
        """The credentials that must not come back in the answer to ``sent``."""
        ...


Oracle = Callable[[OracleContext, Sent], Finding | None]

# A token shorter than this is too likely to occur in any text by chance ("e", "ok") to call its presence
# in an answer an echo; the runner and the proxy use the same rule.
MIN_ECHO_CHARS = 16


def echo_candidates(sent: Sent, known: Sequence[str]) -> list[str]:
    """The credentials to look for in the answer to ``sent``: the known ones and the token it carried."""
    values = [v for v in known if len(v) >= MIN_ECHO_CHARS]
    if sent.sent_token and len(sent.sent_token.strip()) >= MIN_ECHO_CHARS:
        values.append(sent.sent_token)
    return values
