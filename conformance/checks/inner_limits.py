"""Length limits inside the page's range, found and named.

The page allows ids of up to 1,024 characters and a token of up to 16,384. A server, or something in front
of it, may still stop short of that - a header buffer of 8 KiB, a column of 255 characters, a path limit -
and answer a legal value differently from a short one of the same kind: "invalid parameters" (400) for a
long wrong token where a short wrong token is forbidden (403). The boundary checks (checks/boundaries.py)
send the largest legal values and judge each answer alone; this check compares: a wrong token of 16,384
characters with a short wrong one, an unknown group id of 1,024 characters with a short unknown one, and
another project's id of 1,024 characters with a short one - by status and error code. Where the answers
differ it bisects the length between the two (about log2 of the range: 14 requests for the token, 10 for
an id) and names the threshold: "X-Auth-Token over 8,100 characters: 431 where a short one gets 403; the
page allows 16,384".

Every value is a run of one letter: no token, no real group (not UUID-shaped) and no real project (not 32
hex characters), so nothing can be paused (transport/safety.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from conformance.checks.machinery.base import Finding, Sent, Title
from conformance.checks.machinery.context import CheckContext, says_nothing
from conformance.checks.machinery.ordered import each_in_order
from conformance.checks.machinery.registry import scenario
from conformance.checks.oracles import describe_infrastructure

SHORT = 40  # the short value's length: longer than any limit a correct server has, far below the page's

Answer = tuple[int | None, object]  # status, error_code


@dataclass(frozen=True)
class Kind:
    """One parameter whose legal values are compared: how to send a value of a given length."""

    parameter: str
    requirement: str
    longest: int  # the page's maximum
    send: Callable[[int], Awaitable[Sent]]


def answer_of(sent: Sent) -> Answer:
    return sent.result.status, sent.result.json_field("error_code")


def kinds(ctx: CheckContext) -> list[Kind]:
    group = ctx.guard.mint()

    async def token(n: int) -> Sent:
        return await ctx.stop(group, credential=False, headers=[("X-Auth-Token", "M" * n)])

    async def group_id(n: int) -> Sent:
        return await ctx.stop("z" * n)

    async def project_id(n: int) -> Sent:
        return await ctx.stop(group, project_id="y" * n)

    return [
        Kind("X-Auth-Token", "STOP-TOKEN-LEN", ctx.contract.max_length("X-Auth-Token"), token),
        Kind("group_id", "STOP-GROUP-LEN", ctx.contract.max_length("group_id"), group_id),
        Kind("project_id", "STOP-PROJECT-LEN", ctx.contract.max_length("project_id"), project_id),
    ]


async def threshold(kind: Kind, short: Answer, low: int, high: int) -> tuple[int, Sent] | None:
    """The longest length answered as ``short``, between ``low`` (answered so) and ``high`` (not), and the
    answer just above it; None when an answer said nothing (no answer, a 5xx)."""
    above: Sent | None = None
    while high - low > 1:
        middle = (low + high) // 2
        sent = await kind.send(middle)
        if says_nothing(sent.result):
            return None
        if answer_of(sent) == short:
            low = middle
        else:
            high, above = middle, sent
    return (low, above) if above is not None else None


def _shown(answer: Answer) -> str:
    status, code = answer
    return f"{status}" + (f" {code}" if code is not None else "")


@scenario("limits-inside", requirements=["STOP-TOKEN-LEN", "STOP-GROUP-LEN", "STOP-PROJECT-LEN"])
async def limits_inside(ctx: CheckContext) -> None:
    """A legal-length wrong token, unknown group id and other project's id are answered as short ones are;
    where not, the length at which the answer changes is found and named."""
    every = kinds(ctx)
    first: dict[tuple[str, int], Sent] = {}

    async def send(case: tuple[Kind, int]) -> None:
        kind, length = case
        first[kind.parameter, length] = await kind.send(length)

    # The short and the longest value of each kind depend on no answer: --concurrency at a time, judged in
    # this order (machinery/ordered.py). Only a bisection, where two differ, waits for each answer.
    await each_in_order([(kind, n) for kind in every for n in (SHORT, kind.longest)], send, ctx.concurrency)
    for kind in every:
        short_sent, long_sent = first[kind.parameter, SHORT], first[kind.parameter, kind.longest]
        if says_nothing(short_sent.result) or says_nothing(long_sent.result):
            ctx.recorder.undecided(
                kind.requirement,
                f"{kind.parameter}: no comparable answers ({short_sent.result.status} for {SHORT} "
                f"characters, {long_sent.result.status} for {kind.longest:,})",
            )
            continue
        short, long = answer_of(short_sent), answer_of(long_sent)
        if short == long:
            continue
        found = await threshold(kind, short, SHORT, kind.longest)
        limit, shown = (found[0], found[1]) if found else (None, long_sent)
        where = f"over {limit:,} characters" if limit is not None else f"of {kind.longest:,} characters"
        ctx.fail(
            Finding(
                Title(
                    "{parameter} {where} is answered {long} where a short one gets {short}",
                    parameter=kind.parameter,
                    where=where,
                    long=_shown(answer_of(shown)),
                    short=_shown(short),
                ),
                f"{_shown(answer_of(shown))} for {kind.parameter} {where}; {_shown(short)} for {SHORT} "
                f"characters{describe_infrastructure(shown)}",
                f"{_shown(short)}, as for a short value: the page allows up to {kind.longest:,} characters",
                "a value of legal length is treated like a short value of the same kind",
                sent=shown,
                requirement=kind.requirement,
            )
        )
