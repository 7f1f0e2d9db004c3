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
"""

from __future__ import annotations

from dataclasses import dataclass

from conformance.checks.machinery.base import Finding, Kind, Sent, Title
from conformance.checks.machinery.context import CheckContext, says_nothing, shown_status
from conformance.checks.machinery.hang_budget import class_of
from conformance.checks.machinery.registry import GroupUse, scenario
from conformance.spec.paths import show_path, stop_path
from conformance.target import Project
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


async def send_pair(ctx: CheckContext, first: Step, second: Step) -> tuple[Sent | None, Sent | None]:
    """``first`` then ``second`` on one connection; None for one not sent (the connection ended first)."""
    steps = (first, second)
    if ctx.client.in_process:
        return tuple(  # type: ignore[return-value]
            [
                await ctx.send(s.method, s.path, s.headers, kind=s.kind, retry=False, auth=s.auth)
                for s in steps
            ]
        )
    classes = [class_of(ctx.target, s.method, s.kind, s.path, s.headers, s.auth) for s in steps]
    for cls in classes:
        ctx.may_send(cls)
    requests = [RaceRequest(s.method, s.path, s.headers, auth=s.auth) for s in steps]
    results = await on_one_connection(ctx.client, requests)
    sents: list[Sent | None] = []
    for step, cls, result in zip(steps, classes, results, strict=True):
        if result is None:
            sents.append(None)
            continue
        token = step.auth.token if step.auth is not None and step.auth.token else None
        token = token or next((v for k, v in step.headers if k.lower() == "x-auth-token"), None)
        sent = Sent(step.method, step.path, step.kind, token, result, ctx.recorder.check, False, str(cls))
        ctx._deliver(sent)
        await ctx.hangs.observe(cls, result)
        sents.append(sent)
    return sents[0], sents[1]


def valid_step(ctx: CheckContext, keeper: str) -> Step:
    """A request with the target's credential that pauses nothing: a show of the keeper where the profile
    has one, else a stop of an id the run minted (it names no group)."""
    project = ctx.target.project
    if ctx.contract.has_show_operation:
        path = show_path(project.project_id, keeper)
        return Step("a show of the group with the valid credential", "GET", path, Kind.SHOW, auth=project)
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
    return steps


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
    for bad, refusing, requirement in refused_steps(ctx, keeper):
        first, then = await send_pair(ctx, valid, bad)
        if first is not None and not says_nothing(first.result):
            alone = alone or first
        if then is None:
            closed += 1
        else:
            judge_refused(ctx, keeper, then, refusing, requirement, f"{bad.label} after {valid.label}")
        refused, after = await send_pair(ctx, bad, valid)
        if refused is not None:
            judge_refused(ctx, keeper, refused, refusing, requirement, f"{bad.label} before {valid.label}")
        if after is None:
            closed += 1
        elif alone is not None and not says_nothing(after.result) and answer_of(after) != answer_of(alone):
            ctx.fail(
                Finding(
                    Title(
                        "{valid} was answered differently after a stop with {what} on the same connection",
                        valid=valid.label,
                        what=bad.label,
                    ),
                    f"{after.result.status} after the refused stop; {alone.result.status} with nothing "
                    "before it",
                    f"{alone.result.status}, as alone - each request is judged on its own",
                    sent=after,
                    requirement="STOP-AUTHN",
                )
            )
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
