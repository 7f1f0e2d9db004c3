"""Effects that last: every group this run paused is still pausing or paused at the end of the run.

A 200 that paused a group for a second and then let it run again - a worker that resumes what it finds
half-paused, a write rolled back, a snapshot of the store written back over it - passes every check that
looks right after the stop. So the last scenario looks again at the groups the run paused (minus those the
stateful check started and gave back), once each has held for a while, and reports a group that came back
as a STOP-EFFECT failure with the time it held, from its pausing 200 to the re-check.

- huawei: by show, under the one rule for reads after writes (machinery/lag.py): 7, 3 or 6 agree.
- strict: the only proof is a stop, which must still be refused as not pausable (400). Its 200 pauses the
  group again; it was pausable, which is the finding, and it stays in the run's paused list for --restore.

It is a check rather than a step of the runner so that it has a verdict, a recorder (its requests pass the
oracles, and --checks/--plan name it) and needs no group of its own: it runs after every other scenario and
before the runner's --restore (runner/engine.py).
"""

from __future__ import annotations

import asyncio
import time

from conformance.checks.machinery.base import Finding, NotRun
from conformance.checks.machinery.context import CheckContext, says_nothing
from conformance.checks.machinery.ordered import each_in_order
from conformance.checks.machinery.registry import GroupUse, scenario
from conformance.checks.state import shows_paused
from conformance.spec.statuses import SETTLED
from conformance.transport.ahead import FRESH_S

# A pause that comes undone within seconds is what the checks right after a stop cannot see. The re-check
# waits until the youngest pause has held this long - once a run, and the groups paused earlier in the run
# have held far longer by then. Not a settle bound (5 s by default): a read path that lags is read again by
# the lag rule anyway, and a default run against a quick server must not end with a 5 s sleep.
MIN_HOLD_S = 1.0
# How long before the hold ends the re-check stops' connections are opened: half the age a connection opened
# ahead may reach (transport/ahead.py FRESH_S), so they are still fresh when the stops go.
OPEN_AHEAD_S = FRESH_S / 2


def paused_by_own_stops(ctx: CheckContext) -> list[str]:
    """The groups a 200 to a valid stop of their own id paused and no start of this run resumed (a 200 to a
    look-alike id may have paused nothing: ``ctx.written`` keeps only what this run's writes caused)."""
    return [group for group in ctx.pool.paused if ctx.written.get(group) == SETTLED]


@scenario("effect-lasts", requirements=["STOP-EFFECT"], needs=["fixtures"], groups=GroupUse.RECHECKS_PAUSED)
async def effect_lasts(ctx: CheckContext) -> None:
    """Every group the run paused is still paused at the end of the run (a pause that reverted is a failed
    pause); it re-checks them last and needs no group of its own."""
    groups = paused_by_own_stops(ctx)
    if not groups and ctx.pool.given_back:
        # Stateful looked at each of them (look_again) before it started them: its verdict holds that.
        ctx.note("effect-lasts: every group this run paused was started again and given back (stateful)")
        ctx.recorder.decided_by = "stateful"
        return
    if not groups:
        raise NotRun("this run paused no listed group to look at again")
    await look_again(ctx, groups)


async def look_again(ctx: CheckContext, groups: list[str]) -> None:
    """Once the youngest pause among ``groups`` has held long enough, each must still be pausing or paused
    (STOP-EFFECT, recorded by the check that calls: this one, or stateful before it starts groups again)."""
    hold = MIN_HOLD_S if ctx.effect_hold is None else ctx.effect_hold
    youngest = max(ctx.pool.paused_at.get(group, 0.0) for group in groups)
    async with ctx.in_flight.idle():  # the slots kept for this lane serve the other one meanwhile
        wait = max(0.0, youngest + hold - time.monotonic())
        await asyncio.sleep(max(0.0, wait - OPEN_AHEAD_S))
        if not ctx.contract.has_show_operation:
            # The re-check stops go on new connections: opened now, each is open as its stop goes (a
            # round trip on a network as far as OPEN_AHEAD_S), not a handshake in a row with the stop.
            ctx.client.open_ahead(len(groups))
        await asyncio.sleep(min(wait, OPEN_AHEAD_S))

    async def again(group: str) -> None:
        if ctx.contract.has_show_operation:
            await _read_again(ctx, group)
        else:
            await _stop_again(ctx, group)

    # Each group is looked at alone: --concurrency at a time, judged in this order (machinery/ordered.py).
    await each_in_order(groups, again, ctx.concurrency)


def _since_pause(ctx: CheckContext, group: str) -> str:
    """How long the group had held when the re-check began: from its pausing 200 to now."""
    held = time.monotonic() - ctx.pool.paused_at.get(group, time.monotonic())
    return f"{held:.1f}s after the 200 that paused it"


async def _read_again(ctx: CheckContext, group: str) -> None:
    # A pause that reverts on its own is no pause: the read must still agree with the stop, as right after it.
    title = "A group this run paused is running again"
    await shows_paused(ctx, group, "its stop, at the end of the run", title, _since_pause(ctx, group))


async def _stop_again(ctx: CheckContext, group: str) -> None:
    since = _since_pause(ctx, group)
    sent = await ctx.stop(group)
    if says_nothing(sent.result):
        ctx.recorder.undecided("STOP-EFFECT", f"the re-check stop of {group} got no answer")
    elif sent.result.status == 200:
        ctx.fail(
            Finding(
                "A group this run paused was pausable again",
                f"200 to a stop {since}",
                "400 - a paused group is not pausable; a pause that reverts on its own is no pause",
                sent=sent,
            )
        )
    else:
        ctx.expect(sent, {400}, "A stop of a group this run paused was not refused with 400")
