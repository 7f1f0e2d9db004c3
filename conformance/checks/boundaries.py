"""Exact length boundaries of the page: ids 1..1,024 characters, the token 1..16,384.

Schemathesis's coverage phase sends most of these too (see fuzz.py); they are hand-built here because it
never sends an empty path segment, overwrites token boundaries with the credential, and because each answer
needs a contract-specific expectation: an in-range unknown id is a 400 (not "valid input rejected"), an
out-of-range one must be refused, and a legal 16,384-character token must reach the application.

The requests of each check are independent, so they go out ``--concurrency`` at a time and are judged in
order (checks/ordered.py).
"""

from __future__ import annotations

from conformance.checks.base import Finding, Title
from conformance.checks.context import CheckContext
from conformance.checks.oracles import describe_infrastructure, refused_in_front
from conformance.checks.ordered import each_in_order
from conformance.checks.registry import scenario


def boundary_lengths(ctx: CheckContext, parameter: str) -> tuple[int, ...]:
    """Empty, the minimum, the maximum and one over it, read from the contract (ids 1,024, token 16,384)."""
    low, high = ctx.contract.min_length(parameter), ctx.contract.max_length(parameter)
    return tuple(sorted({0, low, high, high + 1}))


def _filler(length: int) -> str:
    # Not UUID-shaped, so it cannot name a real task group (see transport/safety.py).
    return "z" * length


@scenario("group-id-length", requirements=["STOP-GROUP-LEN"])
async def group_id_length(ctx: CheckContext) -> None:
    """group_id of 0, 1, 1024 and 1025 characters, with the valid credential."""
    low, high = ctx.contract.min_length("group_id"), ctx.contract.max_length("group_id")

    async def one(length: int) -> None:
        sent = await ctx.stop(_filler(length))
        in_range = low <= length <= high
        allowed = set(ctx.expected.unknown_group) if in_range else {400}
        if length == 0:
            allowed |= ctx.expected.gateway_404  # an empty segment may not reach the operation at all
        why = (
            "an unknown group of legal length is refused as unknown, not as a server error"
            if in_range
            else f"the page limits group_id to {low}..{high:,} characters"
        )
        ctx.expect(sent, allowed, Title("group_id of {length} characters", length=length), why)

    await each_in_order(boundary_lengths(ctx, "group_id"), one, ctx.concurrency)


@scenario("project-id-length", requirements=["STOP-PROJECT-LEN"])
async def project_id_length(ctx: CheckContext) -> None:
    """project_id of 0, 1, 1024 and 1025 characters, on an unknown and on a listed group."""
    groups = [ctx.guard.mint()]
    listed = ctx.target.project.group_ids()
    if listed:
        groups.append(sorted(listed)[0])

    async def one(case: tuple[str, int]) -> None:
        group, length = case
        sent = await ctx.stop(group, project_id=_filler(length))
        # A project id that is not the credential's own may be refused as forbidden (403).
        allowed = set(ctx.expected.foreign_project) | (ctx.expected.gateway_404 if length == 0 else set())
        where = "a listed group" if group in listed else "an unknown group"
        ctx.expect(
            sent,
            allowed,
            Title("project_id of {length} characters on {where}", length=length, where=where),
            "the project is not the credential's own, and out-of-range ids are invalid",
        )

    cases = [(group, length) for group in groups for length in boundary_lengths(ctx, "project_id")]
    await each_in_order(cases, one, ctx.concurrency)


@scenario("token-length", requirements=["STOP-TOKEN-LEN", "STOP-TOKEN-REQUIRED"])
async def token_length(ctx: CheckContext) -> None:
    """X-Auth-Token of 0, 1, 16384 and 16385 characters: refused, and a legal one reaches the application."""
    group = ctx.guard.mint()
    high = ctx.contract.max_length("X-Auth-Token")

    async def one(length: int) -> None:
        sent = await ctx.stop(group, credential=False, headers=[("X-Auth-Token", "0" * length)])
        status = sent.result.status
        requirement = "STOP-TOKEN-REQUIRED" if length == 0 else "STOP-TOKEN-LEN"
        if 1 <= length <= high and refused_in_front(sent):
            ctx.fail(
                Finding(
                    Title("A legal {length}-character token did not reach the application", length=length),
                    f"{status}{describe_infrastructure(sent)}",
                    "the application's own refusal "
                    f"({', '.join(map(str, sorted(ctx.expected.auth_refused)))})",
                    sent=sent,
                    requirement="STOP-TOKEN-LEN",
                )
            )
            return
        ctx.expect(
            sent,
            ctx.expected.auth_refused,
            Title("X-Auth-Token of {length} characters", length=length),
            "the token is not a valid credential"
            + (f" and exceeds {high:,} characters" if length > high else ""),
            requirement=requirement,
        )

    await each_in_order(boundary_lengths(ctx, "X-Auth-Token"), one, ctx.concurrency)
