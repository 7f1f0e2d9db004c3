"""State-aware checks from the target's fixtures: precondition, success, effect, what a show says (the
concurrency check, which races stops, is checks/concurrency.py).

They need the task groups the target file lists by status; without them they are "not run (no fixtures)",
never passed. Which group each gets is the pool's decision (machinery/pool.py): the effect check pauses the
shared keeper group after the checks that must leave it pausable, so its first stop also proves they did.

On a real account a listed group may no longer be in its listed status (a previous night paused it). A valid
stop refused as "not pausable" is therefore evidence only where the group's status was read just before
(huawei); on strict it makes the group *stale (inferred)* and the check tries the next one.
"""

from __future__ import annotations

from collections.abc import Collection

from conformance.checks.machinery.base import Finding, NotRun, Sent, Title
from conformance.checks.machinery.context import CheckContext
from conformance.checks.machinery.lag import ANY_STATUS, Reading
from conformance.checks.machinery.ordered import each_in_order, wait_turn
from conformance.checks.machinery.registry import GroupUse, scenario
from conformance.checks.machinery.shapes import SDK, ClientShape
from conformance.spec.documents import Profile
from conformance.spec.statuses import SETTLED

GONE = frozenset({"deleting", "deleted"})  # the platform may no longer show such a group
MAX_STALE_TRIES = 3  # fresh groups a check tries after stale ones, so a list of stale groups stays cheap


def shape_tail(how: str) -> str:
    """The tail a stop's title gets when it was sent in a client's shape, not the suite's own."""
    return f", sent as {how}" if how else ""


def refused_as_not_pausable(ctx: CheckContext, sent: Sent) -> bool:
    """A valid stop refused the way a group that is not pausable is refused (400)."""
    return sent.result.status == 400


async def stop_as(ctx: CheckContext, group: str, shape: ClientShape) -> tuple[Sent, str]:
    """A stop of a listed pausable group as ``shape``'s client sends it (machinery/shapes.py).

    On strict a 400 cannot tell a stale group from a refused request shape; one stop in the suite's own
    shape right after it can. Its 200 proves the group was pausable - so the shape was refused, which is
    the finding - and is returned as the stop that paused it; otherwise the first answer is returned. With
    it, how it was sent: ``shape.description``, or "" for the suite's own shape.
    """
    return await as_sent(ctx, group, shape, await ctx.stop(group, shape=shape))


async def as_sent(ctx: CheckContext, group: str, shape: ClientShape, sent: Sent) -> tuple[Sent, str]:
    """:func:`stop_as` for a stop already sent as ``shape``'s client sends it (raced by the concurrency
    check): on strict a 400 is told apart from a refused shape by one stop in the suite's own shape."""
    if not refused_as_not_pausable(ctx, sent) or ctx.pool.can_read:
        return sent, shape.description
    follow = await ctx.stop(group)
    if follow.result.status != 200:
        return sent, shape.description
    ctx.fail(
        Finding(
            Title("A stop sent as {shape} was refused", shape=shape.description),
            f"{sent.result.status} to {shape.description}",
            "200 - the same stop with Content-Length: 0 and no content type paused the group right "
            "after, so it was pausable",
            "the page defines no body and no content type for the request: every client's shape is legal",
            sent,
            requirement="STOP-SUCCESS-200",
        )
    )
    return follow, ""


@scenario("unknown-group", requirements=["STOP-PRECONDITION"])
async def unknown_group(ctx: CheckContext) -> None:
    """A group that does not exist is not creating or monitoring: the stop is refused."""
    for group in (ctx.guard.mint(), ctx.guard.mint() + "-" + "q" * 40):
        sent = await ctx.stop(group)
        ctx.expect(
            sent,
            ctx.expected.unknown_group,
            "A stop of a group that does not exist was not refused",
            "only an existing creating or monitoring group can be paused",
        )


@scenario("neighbour-ids", requirements=["STOP-PRECONDITION"], needs=["fixtures"], groups=GroupUse.KEEPER)
async def neighbour_ids(ctx: CheckContext) -> None:
    """Ids one character longer or shorter than a listed pausable group's are unknown, and pause nothing.

    Catches lookups by prefix (``LIKE 'id%'``) or truncation. Such ids are not UUID-shaped, so on a real
    account they cannot name another group (transport/safety.py).
    """
    group = await ctx.pool.borrow_keeper()
    # One after another, not side by side: a store that compares only a prefix of the id takes both, and the
    # first to arrive pauses the keeper - the stop a finding names must be the one a run one by one names.
    for neighbour, how in ((group + "x", "one character longer"), (group[:-1], "one character shorter")):
        if not neighbour:
            continue
        sent = await ctx.stop(neighbour)
        ctx.keeper_paused(sent)
        ctx.expect(
            sent,
            ctx.expected.unknown_group,
            Title("A stop of an id {how} than a listed group was not refused", how=how),
            "only the group the id names exactly may be paused; this id names none",
        )
    if ctx.pool.keeper == group:
        await ctx.still_pausable(group, "STOP-PRECONDITION", "stops of ids that only resemble it")


@scenario(
    "effect",
    requirements=["STOP-EFFECT", "STOP-SUCCESS-200"],
    needs=["fixtures"],
    groups=GroupUse.PAUSES_KEEPER,
)
async def effect(ctx: CheckContext) -> None:
    """A stop of a pausable group answers 200; afterwards the group is pausing or paused: a second stop is
    refused, and the show operation agrees. Its first stop also settles the keeper's deferred checks."""
    raced = ctx.pool.take_handed_over()
    group, deferred = (raced[0], raced[2]) if raced else await ctx.pool.take_keeper()
    for attempt in range(MAX_STALE_TRIES):
        if raced and attempt == 0:  # its first stop went out with the concurrency check's race
            first, how = await as_sent(ctx, group, SDK, raced[1])
            how = ", ".join(filter(None, [how, "released together with stops of another group"]))
        else:
            first, how = await stop_as(ctx, group, SDK)
        pending = [(d.requirement, d.after) for d in deferred]
        if refused_as_not_pausable(ctx, first) and not ctx.pool.can_read:
            # Strict: nothing tells a stale group from one paused by the checks before; neither is a finding.
            ctx.pool.settle(first, deferred)
            if deferred and ctx.pool.stale_keeper is None:
                ctx.pool.stale_keeper = (group, [d.check for d in deferred])
            ctx.pool.mark_stale(
                group,
                "refused as not pausable" + (" after other checks used it" if pending else ""),
                inferred=True,
            )
            group, deferred = await ctx.pool.take_like(group), []
            continue
        ctx.pool.settle(first, deferred)
        break
    else:
        raise NotRun(f"the {MAX_STALE_TRIES} listed pausable groups tried were stale")
    ctx.pool.kinds_paused.add(ctx.pool.listed_status(group))
    if not ctx.expect(
        first,
        {200},
        Title("A stop of a pausable group did not answer 200{how}", how=shape_tail(how)),
        "the group is creating or monitoring"
        + (" (its status was read just before)" if ctx.pool.can_read else ""),
        requirement="STOP-SUCCESS-200",
    ):
        return
    if ctx.contract.has_show_operation:
        # 7 or 3 (or 6) agree at once; a read path that lags the stop is read again (machinery/lag.py).
        title = "After a 200 the group is not pausing or paused"
        await shows_paused(ctx, group, "its stop", title, "the 200")
    second = await ctx.stop(group)
    ctx.expect(
        second,
        {400},
        "A second stop of a just-paused group was not refused",
        "after a 200 the group is pausing or paused, so it is no longer pausable",
        requirement="STOP-EFFECT",
    )


async def shows_paused(ctx: CheckContext, group: str, after: str, title: str, since: str) -> None:
    """Read ``group`` after ``after`` paused it, by the lag rule (machinery/lag.py): 7, 3 or 6, else a
    STOP-EFFECT failure titled ``title`` whose message says the read came after ``since``."""
    reading = await ctx.read_after_write(group, SETTLED, after=after)
    shown = reading.answer
    if reading.status is None:
        ctx.recorder.undecided(
            "STOP-EFFECT", f"the show of {group} answered {shown.result.status} without a status"
        )
    elif not reading.agrees:
        ctx.fail(
            Finding(
                title,
                f"{reading.received(ctx.settle_timeout)} after {since}",
                "7 (pausing), 3 (paused) or 6 (completed)",
                sent=shown,
                requirement="STOP-EFFECT",
            )
        )


@scenario(
    "show-status", requirements=["HW-SHOW-STATUS"], needs=["fixtures", "show"], profiles=[Profile.HUAWEI]
)
async def show_status(ctx: CheckContext) -> None:
    """The show operation answers {group_id, status} with status 0..9 for every listed group. A group this
    run paused or started is read until it shows what that write caused (the read path lags writes)."""
    project = ctx.target.project
    disagreed = False  # once a read has outlasted the bound, the others are read once: each would cost it
    listed = [(name, group) for name, groups in project.groups.items() for group in groups[:2]]

    async def show(item: tuple[str, str]) -> None:
        nonlocal disagreed
        name, group = item
        written = ctx.written.get(group, frozenset())  # what this run's own stop or start caused
        if written:
            await wait_turn()  # how long it is read depends on the reads before it: decided in its turn
        caused = ANY_STATUS if disagreed or not written else written
        reading = await ctx.read_after_write(group, caused, after="its stop or start")
        disagreed = disagreed or not reading.agrees
        judge_shown(ctx, name, group, reading, caused)

    # A group no write of this run touched is read once, whatever the reads before it showed: those go
    # --concurrency at a time, judged in this order (machinery/ordered.py).
    await each_in_order(listed, show, ctx.concurrency)


def judge_shown(
    ctx: CheckContext, name: str, group: str, reading: Reading[Sent], caused: Collection[int]
) -> None:
    """A listed ``name`` group's show answer is {group_id, status 0..9}; one that disagrees with what this
    run's write caused is noted (the effect and stateful checks judge the write)."""
    shown = reading.answer
    if name in GONE and shown.result.status in ctx.expected.unknown_group | ctx.expected.gateway_404:
        ctx.note(f"show-status: a listed {name} group is not shown ({shown.result.status}); it may be gone")
        return
    if not ctx.expect(shown, {200}, Title("Showing a listed {name} group failed", name=name)):
        return
    data = shown.result.json
    if not isinstance(data, dict) or data.get("group_id") != group or data.get("status") not in range(10):
        ctx.fail(
            Finding(
                "The show answer is not {group_id, status 0..9}",
                repr(shown.result.body[:120].decode("utf-8", "replace")),
                Title('{{"group_id": {group}, "status": 0..9}}', group=repr(group)),
                sent=shown,
            )
        )
    elif not reading.agrees:
        # The show may be right and the write wrong: which one is the effect and stateful checks'
        # to judge (STOP-EFFECT, HW-START); this check judges only the answer's shape.
        ctx.note(
            f"show-status: group {group} shows {reading.received(ctx.settle_timeout)}, not "
            f"{' or '.join(map(str, sorted(caused)))} as this run's stop or start should have left it"
        )
