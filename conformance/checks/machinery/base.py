"""What every check works with: the exchange it judges (:class:`Sent`), what it finds (:class:`Finding`),
and the narrow view of a run that a response oracle may read (:class:`OracleContext`).

The oracle interface is deliberately small so that two very different callers satisfy it: the runner's
:class:`~conformance.checks.machinery.context.CheckContext`, and the validating proxy, which judges answers it
merely forwards. An oracle reads the profile, the contract, the request timeout and the secrets *of this
exchange*, and returns a :class:`Finding` or None.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from conformance.checks.machinery.layers import layer_of
from conformance.redact import SECRET_RUN
from conformance.results import UNKNOWN_LAYER, Failure
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
    request_class: str = ""  # its class for the run's hang budget (machinery/hang_budget.py); "" if none
    # The status the client asked for (``Prefer: code=N``, which the reference server honours): an answer
    # it forced is not the server failing. Only the proxy sees such requests.
    forced_status: int | None = None


@dataclass(frozen=True)
class Title:
    """A finding's title (or expectation): a stable ``template`` naming the kind of violation, and the
    per-input ``values`` it names ("Undocumented status {status}", status=500). Reports print the filled-in
    text; the rollup groups by the template, so two inputs that fail alike are one cause."""

    template: str
    values: tuple[tuple[str, object], ...] = ()

    def __init__(self, template: str, **values: object) -> None:
        object.__setattr__(self, "template", template)
        object.__setattr__(self, "values", tuple(values.items()))

    def __str__(self) -> str:
        # A template without values is printed as written: it may hold braces of its own ("{group_id, ...}").
        return self.template.format_map(dict(self.values)) if self.values else self.template


@dataclass(frozen=True)
class Finding:
    """A violation of one requirement, as fields, with the exchange that shows it.

    ``requirement`` is left out ("") by a check that declares one requirement: the recorder (and the runner,
    for response checks) takes it from the declaration; a check that declares several names the one it means.
    :meth:`failure` makes the report's :class:`~conformance.results.Failure` of it, field for field.
    """

    title: Title | str  # a str is a title without per-input values
    received: str  # holds this input's values as they are
    expected: Title | str  # a Title where what was expected names this input ("group_id": 'g-1')
    why: str = ""
    sent: Sent | None = None
    requirement: str = ""
    expected_as: str = "Expected"  # the label of the expected line ("Documented (strict)" for statuses)
    more: str = ""  # further lines after the reasons (the stateful check's shortest failing program)
    layer: str = UNKNOWN_LAYER  # which layer answered (results.py ``Failure.layer``)

    @property
    def template(self) -> str:
        """The stable title: the same for every input that fails this way."""
        return self.title.template if isinstance(self.title, Title) else self.title

    @property
    def headline(self) -> str:
        """The title as reports print it, values filled in."""
        return str(self.title)

    @property
    def expectation(self) -> str:
        """What was expected, the same for every input that fails this way."""
        return self.expected.template if isinstance(self.expected, Title) else self.expected

    def failure(self, check: str, severity: str, *, seed: int | None = None, seen_in: str = "") -> Failure:
        """The finding as a report keeps it; ``seen_in``: the check whose request it was found in."""
        return Failure(
            requirement=self.requirement,
            check=check,
            title=self.headline,
            severity=severity,
            received=self.received,
            expected=str(self.expected),
            why=self.why,
            expected_as=self.expected_as,
            more=self.more,
            seen_in=seen_in,
            cause=self.template,
            expectation=self.expectation,
            layer=self.layer
            if self.layer != UNKNOWN_LAYER or not self.sent
            else layer_of(self.sent.result.exchange),
            evidence=[self.sent.result.exchange] if self.sent else [],
            seed=seed,
        )


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
# in an answer an echo; the runner and the proxy use the same rule, and it is the length of a run of a
# longer one that counts as an echo of it (oracles.py ``no_credential_echo``).
MIN_ECHO_CHARS = SECRET_RUN


def echo_candidates(sent: Sent, known: Sequence[str]) -> list[str]:
    """The credentials to look for in the answer to ``sent``: the known ones and the token it carried."""
    values = [v for v in known if len(v) >= MIN_ECHO_CHARS]
    if sent.sent_token and len(sent.sent_token.strip()) >= MIN_ECHO_CHARS:
        values.append(sent.sent_token)
    return values
