"""Authentication that sticks to a connection: a kept-alive connection that has just carried a valid
request must not lend its credential to the next one, and one that carried a refused request must not
refuse the next valid one for it.

A server that authenticates a connection once and then trusts whatever comes on it (PortSwigger's
connection-state research, 2022: first-request validation; an auth middleware that caches the principal on
the connection object) answers every request correctly on a connection of its own - which is how a run
sends anything that could pause a listed group. So this check sends pairs on one connection
(transport/one_connection.py), to the keeper:

- a valid request first - on huawei a show of the keeper, on strict a stop of an id the run minted (a valid
  credential that pauses nothing) - then a stop of the keeper with no token, a wrong token, the read-only
  token: each must be refused, like the same request alone, and pause nothing;
- the reverse: each of those refused stops first, then the valid request, which must be answered as it was
  alone on a connection of its own (the first pair's valid answer, already in hand).

The keeper is verified afterwards as every keeper check does (still pausable). A server that closes the
connection after every answer keeps nothing between requests: the second request of a pair is then not
sent, and the note says so - no finding and nothing undecided, since such a server has no state to leak.
An in-process transport has no connections: the pairs are sent one by one (noted).

Under ``--concurrency`` the pairs go side by side on strict (:class:`KeeperOrder`): each on a connection of
its own as before, their stops of the keeper still reaching the server one at a time in the order a run one
by one sends them, so the stop that paused the keeper - the one a finding names - is the same.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from conformance.checks.machinery.base import Finding, Kind, Sent, Title
from conformance.checks.machinery.context import CheckContext, says_nothing, shown_status
from conformance.checks.machinery.hang_budget import RequestClass, class_of
from conformance.checks.machinery.ordered import each_in_order, wait_turn
from conformance.checks.machinery.registry import GroupUse, scenario
from conformance.spec.paths import show_path, stop_path
from conformance.target import Project
from conformance.transport.http import HttpResult
from conformance.transport.one_connection import on_one_connection
from conformance.transport.race import RaceRequest

WRONG_TOKEN = "MIIwrong-token-omsconf-connection-0000000000"


@dataclass(frozen=True)
class Step:
    """One request of a pair, as the check means it."""

    label: str
    method: str
    path: str
    kind: Kind
    headers: tuple[tuple[str, str], ...] = ()
    auth: Project | None = None
    names_keeper: bool = False  # a stop or a show of the keeper: what it does or reads depends on the order


class KeeperOrder:
    """Pairs sent side by side whose stops of the keeper still reach the server one at a time, in the pairs'
    order - so the stop a finding names is the one a run one by one names.

    Pair ``n``'s stop of the keeper goes once pair ``n-1``'s is answered. A valid request that opens a pair
    (it names no listed group) goes once pair ``n-1``'s stop has gone out, so its answer comes about when
    that stop's does: the connection then waits a round trip at most for its stop's turn. Against a server
    that closed a connection after an answer (pair 0 shows it), the valid request waits for the turn too:
    an overlap would only add requests there, whose second is never sent anyway."""

    def __init__(self, pairs: int) -> None:
        self._went = [asyncio.Event() for _ in range(pairs)]
        self._answered = [asyncio.Event() for _ in range(pairs)]
        self.waited: set[int] = set()  # pairs whose connection waited for the turn after an answer on it
        self.closes = False  # a connection was closed after an answer: no valid request goes ahead

    def gate(self, n: int, keeper_at: int) -> Callable[[int], Awaitable[None]]:
        """The wait before each request of pair ``n`` (its stop of the keeper is request ``keeper_at``)."""

        async def before(i: int) -> None:
            if i == keeper_at:
                if n and not self._answered[n - 1].is_set():
                    if i:
                        self.waited.add(n)
                    await self._answered[n - 1].wait()
                self._went[n].set()
            elif i < keeper_at:  # the valid request that opens the pair
                if n:
                    await self._went[n - 1].wait()
                if n and self.closes:
                    await self._answered[n - 1].wait()
            else:  # the valid request after the stop: the stop was answered
                self._answered[n].set()

        return before

    def done(self, n: int, closed: bool) -> None:
        self.closes = self.closes or closed
        self._went[n].set()
        self._answered[n].set()


async def send_pair(
    ctx: CheckContext, pair: tuple[Step, Step], order: KeeperOrder | None = None, n: int = 0
) -> tuple[Sent | None, Sent | None]:
    """``pair`` in order on one connection; None for one not sent (the connection ended first). ``order``:
    the pairs go side by side, and this is the ``n``-th (:class:`KeeperOrder`)."""
    if ctx.client.in_process:
        return tuple(  # type: ignore[return-value]
            [await ctx.send(s.method, s.path, s.headers, kind=s.kind, retry=False, auth=s.auth) for s in pair]
        )
    classes = [class_of(ctx.target, s.method, s.kind, s.path, s.headers, s.auth) for s in pair]
    requests = [RaceRequest(s.method, s.path, s.headers, auth=s.auth) for s in pair]
    attempts: list[list[HttpResult | None]] = []
    try:
        for cls in classes:
            ctx.may_send(cls)
        async with ctx.in_flight.one():  # one connection, one request at a time on it
            if order is None:
                attempts.append(await on_one_connection(ctx.client, requests))
            else:
                gate = order.gate(n, keeper_at=0 if pair[0].names_keeper else 1)
                attempts.append(await on_one_connection(ctx.client, requests, gate))
                if attempts[0][0] is not None and attempts[0][1] is None and n in order.waited:
                    # Closed while it waited for its turn, not after the answer as a run one by one would
                    # have seen it: the pair again, now that its turn has come (its stop was not sent).
                    attempts.append(await on_one_connection(ctx.client, requests))
    finally:
        if order is not None:
            order.done(n, closed=bool(attempts) and attempts[-1][0] is not None and attempts[-1][1] is None)
    ended_at = ctx.hangs.clock()
    # In the pairs' order under --concurrency (machinery/ordered.py), and whatever the hang budget closed
    # meanwhile: the answer to a stop of the keeper may be the only word that it paused it (as
    # CheckContext.send delivers every request that could pause a listed group).
    await wait_turn()
    sents: list[Sent | None] = []
    for results in attempts:  # a pair sent again: the answers of both attempts count and meet the oracles
        sents = [
            None if result is None else await _deliver(ctx, step, cls, result, ended_at)
            for step, cls, result in zip(pair, classes, results, strict=True)
        ]
    return sents[0], sents[1]


async def _deliver(
    ctx: CheckContext, step: Step, cls: RequestClass, result: HttpResult, ended_at: float
) -> Sent:
    token = step.auth.token if step.auth is not None and step.auth.token else None
    token = token or next((v for k, v in step.headers if k.lower() == "x-auth-token"), None)
    sent = Sent(step.method, step.path, step.kind, token, result, ctx.recorder.check, False, str(cls))
    ctx.deliver(sent)
    await ctx.hangs.observe(cls, result, ended_at)
    return sent


def valid_step(ctx: CheckContext, keeper: str) -> Step:
    """A request with the target's credential that pauses nothing: a show of the keeper where the profile
    has one, else a stop of an id the run minted (it names no group)."""
    project = ctx.target.project
    if ctx.contract.has_show_operation:
        path = show_path(project.project_id, keeper)
        how = "a show of the group with the valid credential"
        return Step(how, "GET", path, Kind.SHOW, auth=project, names_keeper=True)
    path = stop_path(project.project_id, ctx.guard.mint())
    return Step("a valid stop of an unknown group", "PUT", path, Kind.STOP, auth=project)


def refused_steps(ctx: CheckContext, keeper: str) -> list[tuple[Step, frozenset[int], str]]:
    """Stops of the keeper that must be refused, with what refuses them and the requirement."""
    project = ctx.target.project
    path = stop_path(project.project_id, keeper)
    steps = [
        (Step("no X-Auth-Token", "PUT", path, Kind.STOP), ctx.expected.auth_refused, "STOP-TOKEN-REQUIRED"),
        (
            Step("a wrong X-Auth-Token", "PUT", path, Kind.STOP, (("X-Auth-Token", WRONG_TOKEN),)),
            ctx.expected.auth_refused,
            "STOP-AUTHN",
        ),
    ]
    if project.readonly_token:
        readonly = Step(
            "the read-only token", "PUT", path, Kind.STOP, (("X-Auth-Token", project.readonly_token),)
        )
        steps.append((readonly, frozenset({403}), "STOP-PERMISSION"))
    return [
        (replace(step, names_keeper=True), refusing, requirement) for step, refusing, requirement in steps
    ]


def judge_refused(
    ctx: CheckContext, keeper: str, sent: Sent, refusing: frozenset[int], requirement: str, how: str
) -> None:
    """A stop of the keeper that must be refused: a 200 paused it (the finding; the next check needs a new
    keeper)."""
    if sent.result.status == 200:
        ctx.pool.keeper_paused(keeper)
    ctx.expect(
        sent,
        refusing,
        Title("A stop with {how} on the same connection was not refused", how=how),
        "each request is authenticated on its own: a connection lends no credential",
        requirement=requirement,
    )


def answer_of(sent: Sent) -> tuple[int | None, int | None]:
    """What a valid request's answer says: its status (and, for a show, the status it shows)."""
    return sent.result.status, shown_status(sent) if sent.kind is Kind.SHOW else None


@scenario(
    "connection-state",
    requirements=["STOP-AUTHN", "STOP-TOKEN-REQUIRED", "STOP-PERMISSION"],
    needs=["fixtures"],
    groups=GroupUse.KEEPER,
)
async def connection_state(ctx: CheckContext) -> None:
    """On one kept-alive connection, a valid request then a stop without, with a wrong or with the read-only
    token (and the reverse order): each stop is refused and pauses nothing, each valid request is answered
    as alone."""
    keeper = await ctx.pool.borrow_keeper()
    valid = valid_step(ctx, keeper)
    alone: Sent | None = None  # the valid request's answer with nothing before it on its connection
    closed = 0
    pairs: list[tuple[Step, Step, frozenset[int], str]] = []
    for bad, refusing, requirement in refused_steps(ctx, keeper):
        pairs += [(valid, bad, refusing, requirement), (bad, valid, refusing, requirement)]

    async def send(numbered: tuple[int, tuple[Step, Step, frozenset[int], str]]) -> None:
        nonlocal alone, closed
        n, (first_step, second_step, refusing, requirement) = numbered
        first, then = await send_pair(ctx, (first_step, second_step), order, n)
        if first_step is valid:
            if first is not None and not says_nothing(first.result):
                alone = alone or first
            if then is None:
                closed += 1
            else:
                how = f"{second_step.label} after {valid.label}"
                judge_refused(ctx, keeper, then, refusing, requirement, how)
            return
        if first is not None:
            judge_refused(
                ctx, keeper, first, refusing, requirement, f"{first_step.label} before {valid.label}"
            )
        if then is None:
            closed += 1
        elif alone is not None and not says_nothing(then.result) and answer_of(then) != answer_of(alone):
            ctx.fail(
                Finding(
                    Title(
                        "{valid} was answered differently after a stop with {what} on the same connection",
                        valid=valid.label,
                        what=first_step.label,
                    ),
                    f"{then.result.status} after the refused stop; {alone.result.status} with nothing "
                    "before it",
                    f"{alone.result.status}, as alone - each request is judged on its own",
                    sent=then,
                    requirement="STOP-AUTHN",
                )
            )

    # The pairs go side by side (--concurrency at a time, judged in this order: machinery/ordered.py) where
    # the valid request names no group (strict's stop of a minted id): their stops of the keeper still reach
    # the server one at a time, in this order (KeeperOrder). A show of the keeper (huawei) reads what the
    # stops before it did, so there every pair waits for the one before it.
    overlap = not ctx.client.in_process and not valid.names_keeper and ctx.concurrency > 1
    order = KeeperOrder(len(pairs)) if overlap else None
    await each_in_order(list(enumerate(pairs)), send, ctx.concurrency if overlap else 1)
    if closed:
        ctx.note(
            f"connection-state: the server closed the connection after an answer {closed} times, so the "
            "second request of those pairs was not sent: it keeps nothing between requests there"
        )
    if ctx.client.in_process:
        ctx.note("connection-state: an in-process transport has no connections; each pair went one by one")
    if ctx.pool.keeper == keeper:
        await ctx.still_pausable(
            keeper, "STOP-AUTHN", "stops with bad credentials after valid requests on one connection"
        )
