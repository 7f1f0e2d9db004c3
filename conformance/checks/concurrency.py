"""The concurrency check: stops of one listed pausable group released together (transport/race.py) must get
exactly one 200, the others 400.

When the effect check runs, the race also carries the keeper group's first stop (:func:`keeper_to_race`):
stops of two groups released together must both take effect (huawei reads both), and the effect check then
judges that raced stop as its own first one (checks/state.py), so the keeper is stopped once, not twice.
"""

from __future__ import annotations

from conformance.checks.machinery.base import Finding, NotRun, Sent, Title
from conformance.checks.machinery.context import CheckContext
from conformance.checks.machinery.pool import Deferred
from conformance.checks.machinery.racing import race_stops
from conformance.checks.machinery.registry import GroupUse, scenario
from conformance.checks.machinery.shapes import SDK
from conformance.checks.state import MAX_STALE_TRIES
from conformance.spec.statuses import SETTLED


@scenario("concurrency", requirements=["STOP-CONCURRENCY"], needs=["fixtures"], groups=GroupUse.PAUSES_ONE)
async def concurrency(ctx: CheckContext) -> None:
    """Concurrent stops of one pausable group, released together: exactly one 200, the others 400."""
    width = ctx.race_width
    limit = ctx.client.pacer.rate_limit
    extra = 1 if "effect" in ctx.selected else 0  # the keeper's stop the race carries (keeper_to_race)
    if limit is not None and limit < width + extra:  # a burst wider than a second's allowance is throttled
        width = max(2, int(limit) - extra)
        ctx.note(
            f"concurrency: {width} stops raced instead of {ctx.race_width}, within --rate-limit {limit:g}/s"
        )
    group = ""
    for attempt in range(MAX_STALE_TRIES):
        group = await (ctx.pool.take_like(group) if group else ctx.pool.take())
        # Once a run: a re-run of this check must not take (and lose) a second keeper before the effect check.
        first_race = attempt == 0 and ctx.pool.handed_over is None
        keeper = await keeper_to_race(ctx) if first_race else None
        answers, other, spread_ns = await race_stops(ctx, group, width, (keeper[0], SDK) if keeper else None)
        if keeper and other:
            ctx.pool.handed_over = (keeper[0], other, keeper[1])
        statuses = [a.result.status for a in answers]
        if not ctx.pool.can_read and statuses.count(400) == len(statuses):
            ctx.pool.mark_stale(group, "every concurrent stop was refused as not pausable", inferred=True)
            continue
        break
    else:
        raise NotRun(f"the {MAX_STALE_TRIES} listed pausable groups tried were stale")
    if spread_ns is None:
        how = f"{width} stops sent concurrently (in-process transport: no release spread to measure)"
    else:
        how = f"{width} stops released within {spread_ns / 1e6:.2f} ms"
    ctx.note(f"concurrency: {how}")
    # A throttled stop (429) never reached the group: it took no part in the race. A stop without a complete
    # answer, or with a 5xx (never repeated: it may have paused the group), leaves the count open - unless two
    # 200s already show the violation.
    unanswered = [a for a in answers if a.result.outcome.inconclusive or (a.result.status or 0) >= 500]
    answered = [a for a in answers if a not in unanswered]
    throttled = [a for a in answered if a.result.status == 429]
    decided = [a for a in answered if a.result.status != 429]
    wins = [a for a in decided if a.result.status == 200]
    if len(wins) > 1 or (not wins and decided and not unanswered):
        ctx.fail(
            Finding(
                Title("{wins} of {width} concurrent stops succeeded", wins=len(wins), width=width),
                f"{_histogram(statuses)} ({how})",
                "exactly one 200, the others 400",
                sent=wins[0] if wins else decided[0],
            )
        )
    elif unanswered or not decided:
        ctx.recorder.undecided(
            "STOP-CONCURRENCY",
            f"{len(throttled)} throttled and {len(unanswered)} unanswered of {width} concurrent stops "
            f"({_histogram(statuses)})",
        )
    if throttled:
        ctx.note(f"concurrency: {len(throttled)} of {width} stops were throttled (429) and took no part")
    if ctx.pool.handed_over and ctx.pool.can_read:
        await both_took_effect(ctx, group, wins, ctx.pool.handed_over, how)
    others = [a for a in decided if a.result.status not in (200, 400)]
    if others:
        ctx.fail(
            Finding(
                "A concurrent stop was neither the winner nor refused",
                f"{_histogram(statuses)} ({how})",
                "one 200, the others 400",
                sent=others[0],
            )
        )


async def keeper_to_race(ctx: CheckContext) -> tuple[str, list[Deferred]] | None:
    """The keeper, taken for the effect check, whose first stop the race releases with its own stops.

    Stops of *different* groups released together must all take effect: a store that writes back a whole
    snapshot of what it read loses one of them, and no stop of one group alone shows it. The other group is
    the keeper because its first valid stop is one the run sends anyway - the effect check's, in the SDK's
    shape - so the cross-group race costs no fixture: the effect check judges the raced answer as its own
    first stop (``pool.handed_over``), and its show and second stop, with the end-of-run look
    (checks/lasting.py) at this check's group, show a pause either write lost. None without a keeper, or
    when the effect check does not run (the keeper would be one more group paused for nothing).
    """
    if "effect" not in ctx.selected:
        return None
    try:
        return await ctx.pool.take_keeper()
    except NotRun:
        return None


async def both_took_effect(
    ctx: CheckContext, group: str, wins: list[Sent], raced: tuple[str, Sent, list[Deferred]], how: str
) -> None:
    """huawei: read both groups whose stops were released together and answered 200; each must be pausing
    or paused (on strict, the effect check's second stop and the end-of-run look ask the same by stops)."""
    keeper, keeper_stop, _ = raced
    for target, paused in ((group, bool(wins)), (keeper, keeper_stop.result.status == 200)):
        if not paused:
            continue
        reading = await ctx.read_after_write(target, SETTLED, after="stops of two groups released together")
        if reading.status is not None and not reading.agrees:
            ctx.fail(
                Finding(
                    "A stop released together with a stop of another group did not take effect",
                    f"{reading.received(ctx.settle_timeout)} for group {target} after its 200 "
                    f"({how}, and one stop of another group)",
                    "7 (pausing), 3 (paused) or 6 (completed) for both groups - a store that writes "
                    "back what it read loses one write",
                    sent=reading.answer,
                )
            )


def _histogram(statuses: list[int | None]) -> str:
    counts: dict[str, int] = {}
    for status in statuses:
        key = str(status) if status is not None else "no answer"
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"{n} x {key}" for key, n in sorted(counts.items()))
