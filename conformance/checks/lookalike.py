"""The look-alike checks: ids, tokens and project ids that only resemble the real ones must pause nothing and
be refused. The probes - and why none can name another real group or project on a real account - are
machinery/lookalikes.py's; ids a store would match as patterns are machinery/patterns.py's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from conformance.checks.machinery.base import Title
from conformance.checks.machinery.context import CheckContext
from conformance.checks.machinery.ordered import each_in_order
from conformance.checks.machinery.registry import GroupUse, scenario
from conformance.transport.safety import REAL_PROJECT_ID

if TYPE_CHECKING:
    from conformance.checks.machinery.lookalikes import TokenProbe

# The probes' generators (machinery/lookalikes.py, patterns.py) are imported when a check runs, not by every
# run that lists the checks: a run's start is the lighter (tests/benchmarks/bench_start.py).


@scenario("lookalike-ids", requirements=["STOP-PRECONDITION"], needs=["fixtures"], groups=GroupUse.KEEPER)
async def lookalike_ids(ctx: CheckContext) -> None:
    """Ids that only resemble a listed pausable one (affixes, whitespace, case, Unicode, patterns a store
    may match) pause nothing."""
    from conformance.checks.machinery.lookalikes import Probe, lenient, safe_id_probes, uuid_shaped
    from conformance.checks.machinery.patterns import send_pattern_probes

    group = await ctx.pool.borrow_keeper()
    listed = ctx.target.listed_group_ids()
    probes = safe_id_probes(group, listed)
    for probe in probes:
        # Enforced here as well as in the generator: this is the line that keeps real groups safe.
        assert probe.value not in listed and (
            not uuid_shaped(probe.value) or lenient(probe.value) == lenient(group)
        )

    async def send(probe: Probe) -> None:
        sent = await ctx.stop(probe.value)
        ctx.keeper_paused(sent)
        ctx.expect(
            sent,
            ctx.expected.unknown_group | ctx.expected.gateway_404,
            Title("A look-alike of a listed group's id ({how}) was not refused", how=probe.how),
            "ids are compared exactly (case and every character count): this id names no group",
        )

    # Independent of each other's answers: sent --concurrency at a time, judged in this order
    # (machinery/ordered.py). A probe that paused the keeper is judged the same whichever came back first.
    await each_in_order(probes, send, ctx.concurrency)
    if ctx.pool.keeper == group:
        await send_pattern_probes(ctx, group, listed)  # machinery/patterns.py: LIKE, regex, glob, decoding
    if ctx.pool.keeper == group:
        await ctx.still_pausable(group, "STOP-PRECONDITION", "stops of ids that only resemble it")


@scenario("lookalike-tokens", requirements=["STOP-AUTHN"], needs=["fixtures"], groups=GroupUse.KEEPER)
async def lookalike_tokens(ctx: CheckContext) -> None:
    """Tokens that only resemble the valid one (case, prefix, extension, whitespace, mixed) pause nothing."""
    from conformance.checks.machinery.lookalikes import SEVERAL_LINES_NOT_SENT, token_lookalikes

    project = ctx.target.project
    if not project.token:
        ctx.recorder.undecided(
            "STOP-AUTHN", "the target has no token (AK/SK only): no look-alike token was sent"
        )
        return
    other = ctx.target.other_project.token if ctx.target.other_project else None
    probes = token_lookalikes(project.token, project.readonly_token, other)
    ctx.note(SEVERAL_LINES_NOT_SENT)
    for n, probe in enumerate(probes):
        for _, value in probe.headers:
            # All but copies of the secret: the evidence and curl lines must not show them.
            ctx.client.redactor.add(value, f"$OMS_TOKEN_LOOKALIKE_{n}")
    group = await ctx.pool.borrow_keeper()

    async def send(probe: TokenProbe) -> None:
        sent = await ctx.stop(group, credential=False, headers=probe.headers)
        ctx.expect(
            sent,
            ctx.expected.auth_refused,
            Title("A look-alike token ({how}) was not refused", how=probe.how),
            "only the exact valid credential may pause",
        )

    await each_in_order(probes, send, ctx.concurrency)  # independent: judged in this order
    if ctx.pool.keeper == group:
        await ctx.still_pausable(group, "STOP-AUTHN", "stops with tokens that only resemble the valid one")


@scenario(
    "lookalike-projects", requirements=["STOP-PRECONDITION"], needs=["fixtures"], groups=GroupUse.KEEPER
)
async def lookalike_projects(ctx: CheckContext) -> None:
    """Project ids that only resemble the target's (affixes, whitespace, case, Unicode), and path parameters
    after either id, pause nothing: a listed group is named by its project id and group id, exactly."""
    from conformance.checks.machinery.lookalikes import (
        PATH_PARAMETER_PROBES,
        PathParameterProbe,
        Probe,
        lenient,
        safe_project_probes,
    )

    group = await ctx.pool.borrow_keeper()
    project = ctx.target.project
    other = ctx.target.other_project
    projects = {project.project_id} | ({other.project_id} if other else set())
    refused = ctx.expected.unknown_group | ctx.expected.foreign_project | ctx.expected.gateway_404
    probes = safe_project_probes(project.project_id, projects)
    for probe in probes:
        # Enforced here as well as in the generator: this is the line that keeps other projects safe.
        assert probe.value not in projects and (
            not REAL_PROJECT_ID.match(probe.value.strip())
            or lenient(probe.value) == lenient(project.project_id)
        )

    async def send(probe: Probe | PathParameterProbe) -> None:
        if isinstance(probe, Probe):
            sent = await ctx.stop(group, project_id=probe.value)
            title = Title(
                "A stop under a look-alike of the project id ({how}) was not refused", how=probe.how
            )
            why = "project ids are compared exactly: no group of this project is named by it"
        else:
            sent = await ctx.stop(group, params=(probe.after_project, probe.after_group))
            title = Title("A stop with {how} was not refused", how=probe.how)
            why = (
                "a segment with a path parameter is another segment (RFC 3986 section 3.3): it names no group"
            )
        ctx.expect(sent, refused, title, why)

    # Independent of each other's answers: sent --concurrency at a time, judged in this order.
    every: list[Probe | PathParameterProbe] = [*probes, *PATH_PARAMETER_PROBES]
    await each_in_order(every, send, ctx.concurrency)
    if ctx.pool.keeper == group:
        await ctx.still_pausable(group, "STOP-PRECONDITION", "stops under ids that only resemble its own")
