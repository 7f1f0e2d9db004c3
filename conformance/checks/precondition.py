"""The precondition: a stop pauses only a group in creating or monitoring status; a stop of a group in any
other status is refused with 400 - and leaves the group as it was.

A server that validates after it writes (marks the group paused, then finds it was not pausable and answers
400) answers every stop correctly; only the group's status afterwards shows it. Where the profile can read a
group (huawei), the ``refusal-unchanged`` check reads each group whose stop was refused again, under the
rule for reads after writes (checks/lag.py), and a group now pausing or paused fails STOP-REFUSAL-UNCHANGED.
On strict nothing can observe it (a stop of a group that is not pausable is refused whether or not it
changed it), so the requirement does not apply there and the precondition check lists those refusals as
unverified in a note: never a pass for them.
"""

from __future__ import annotations

from conformance.checks.machinery.base import Finding, NotRun, Sent, Title
from conformance.checks.machinery.context import CheckContext, says_nothing
from conformance.checks.machinery.ordered import each_in_order, wait_turn
from conformance.checks.machinery.registry import GroupUse, scenario
from conformance.checks.machinery.shapes import CURL
from conformance.checks.state import MAX_STALE_TRIES, refused_as_not_pausable, shape_tail, stop_as
from conformance.spec.documents import Profile
from conformance.spec.statuses import PAUSABLE, PAUSED, PAUSING, STATUS_CODES

PAUSED_LIKE = frozenset({PAUSING, PAUSED})  # what a stop that was taken makes of a group
NOT_PAUSED = frozenset(range(10)) - PAUSED_LIKE  # what a refused stop may leave a group in


@scenario(
    "precondition",
    requirements=["STOP-PRECONDITION", "STOP-SUCCESS-200"],
    needs=["fixtures"],
    groups=GroupUse.OPTIONAL,
)
async def precondition(ctx: CheckContext) -> None:
    """A stop refuses every listed group that is not creating or monitoring with 400 and leaves it as it was
    (and pauses a pausable group of the other kind than the effect check's, when one is left)."""
    project = ctx.target.project
    refused_statuses = [name for name in STATUS_CODES if name not in PAUSABLE and project.groups.get(name)]
    listed = [(name, group) for name in refused_statuses for group in project.groups[name]]
    # Each group's stop follows its own read only, so the groups go --concurrency at a time, judged in
    # this order (machinery/ordered.py): first every read, then every stop of a group whose status held.
    current: list[tuple[str, str]] = []

    async def read(item: tuple[str, str]) -> None:
        name, group = item
        status = await ctx.read_status(group)
        if status is not None and status != STATUS_CODES[name]:
            ctx.pool.mark_stale(group, f"shows status {status}", inferred=False)
        else:
            current.append(item)

    async def stop(item: tuple[str, str]) -> None:
        name, group = item
        sent = await ctx.stop(group)
        ctx.expect(
            sent,
            {400},
            Title(
                "A stop of a {name} group (status {code}) was not refused with 400",
                name=name,
                code=STATUS_CODES[name],
            ),
            "only creating (1) and monitoring (2) groups can be paused",
            requirement="STOP-PRECONDITION",
        )
        if sent.result.status == 200 or says_nothing(sent.result) or STATUS_CODES[name] in PAUSED_LIKE:
            return  # a 200 is the finding above; no answer refused nothing; paused is what a stop makes
        ctx.pool.refused[group] = sent  # refusal-unchanged reads it again (huawei)

    # The effect check pauses one pausable kind; the 200 side of the other kind is checked here if a group
    # of it is left (the least important use of a group, so this check runs last among those that pause).
    # First: effect-lasts looks at the groups the run paused once the youngest pause has held a second, so
    # the stops below then count towards that second.
    for name in sorted(PAUSABLE):
        if name not in ctx.pool.kinds_paused and project.groups.get(name):
            await pause_one_in(ctx, name)
    if ctx.pool.can_read:
        await each_in_order(listed, read, ctx.concurrency)
    else:
        current = listed
    await each_in_order(current, stop, ctx.concurrency)
    unverified = [f"{group} ({name})" for name, group in current if group in ctx.pool.refused]
    if unverified and not ctx.pool.can_read:
        ctx.note(
            f"precondition: {len(unverified)} refused stops of groups that are not pausable went "
            f"unverified: {', '.join(unverified)} - whether a refusal left the group as it was cannot be "
            "observed without a read operation (the huawei profile reads each one again: "
            "STOP-REFUSAL-UNCHANGED)"
        )
    if not refused_statuses:
        ctx.note("precondition: no group in a non-pausable status is listed; only the 200 side was checked")
    # Every listed group of one pausable status refused while the other paused: stale groups, or a server
    # that refuses that status - nothing outside tells which, so the 200 side stays undecided for it.
    for said in ctx.pool.refused_kinds():
        ctx.note(f"precondition: {said}")
        ctx.recorder.undecided("STOP-SUCCESS-200", said)


async def pause_one_in(ctx: CheckContext, name: str) -> None:
    """A stop of a listed ``name`` group answers 200 (as curl sends it); a group refused as not pausable
    on strict is stale (inferred), and the next listed group of the status is tried instead."""
    for _ in range(MAX_STALE_TRIES):
        try:
            group = await ctx.pool.take_in(name)
        except NotRun as exc:
            ctx.note(
                f"precondition: the 200 side for a {name} group was not checked, nor curl's request shape "
                f"on a pausable group ({exc})"
            )
            return
        sent, how = await stop_as(ctx, group, CURL)
        if refused_as_not_pausable(ctx, sent) and not ctx.pool.can_read:
            ctx.pool.mark_stale(group, "refused as not pausable", inferred=True)
            continue
        if ctx.expect(
            sent,
            {200},
            Title("A stop of a {name} group did not answer 200{how}", name=name, how=shape_tail(how)),
            f"a {name} group (status {STATUS_CODES[name]}) is pausable",
            requirement="STOP-SUCCESS-200",
        ):
            ctx.pool.kinds_paused.add(name)
        return


@scenario(
    "refusal-unchanged",
    requirements=["STOP-REFUSAL-UNCHANGED"],
    needs=["fixtures", "show"],
    profiles=[Profile.HUAWEI],
)
async def refusal_unchanged(ctx: CheckContext) -> None:
    """Each listed group in a status other than creating, monitoring, pausing or paused is neither pausing
    nor paused after its stop was refused (the precondition check's stop, else one sent here)."""
    project = ctx.target.project
    groups = [
        (name, group)
        for name in STATUS_CODES
        if name not in PAUSABLE and STATUS_CODES[name] not in PAUSED_LIKE
        for group in project.groups.get(name, ())
    ]

    async def look(item: tuple[str, str]) -> None:
        name, group = item
        refusal = ctx.pool.refused.get(group)
        if refusal is None:
            status = await ctx.read_status(group)
            if status is not None and status != STATUS_CODES[name]:
                ctx.pool.mark_stale(group, f"shows status {status}", inferred=False)
                return
            refusal = await ctx.stop(group)
            if refusal.result.status == 200 or says_nothing(refusal.result):
                return  # not refused: the precondition check's finding, not this one's
        # One read first: a group that shows neither pausing nor paused is unchanged, as the first read under
        # the rule for reads after writes would say at once. Only a group that shows otherwise is read under
        # that rule, from its turn on: how often depends on the time it takes, not on the groups before it.
        if await ctx.read_status(group) in NOT_PAUSED:
            return
        await wait_turn()
        await unchanged_after_refusal(ctx, group, name, refusal)

    # Each group's requests name that group alone: --concurrency groups at a time, judged in this order
    # (machinery/ordered.py).
    await each_in_order(groups, look, ctx.concurrency)


async def unchanged_after_refusal(ctx: CheckContext, group: str, name: str, refusal: Sent) -> None:
    """huawei: ``group``, listed in status ``name``, was not paused by its refused stop: it shows neither
    pausing nor paused. (A group moves on by itself - waiting to creating, monitoring to completed - so
    any other status agrees.)"""
    code = STATUS_CODES[name]
    refused = refusal.result.status
    reading = await ctx.read_after_write(group, NOT_PAUSED, after=f"its refused stop ({refused})")
    if reading.status is None:
        ctx.recorder.undecided(
            "STOP-REFUSAL-UNCHANGED",
            f"could not read {group} after its refused stop ({reading.answer.result.status})",
        )
    elif not reading.agrees:
        ctx.fail(
            Finding(
                Title("A refused stop changed a {name} group's status", name=name),
                f"{reading.received(ctx.settle_timeout)} after the {refused} to its stop (the show "
                "operation)",
                f"status {code} ({name}) as read just before the stop, or what it becomes by itself - not "
                "pausing or paused",
                "a refused stop pauses nothing: the group is not creating or monitoring, so it stays as is",
                sent=reading.answer,
                requirement="STOP-REFUSAL-UNCHANGED",
            )
        )
