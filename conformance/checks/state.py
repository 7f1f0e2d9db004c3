"""State-aware checks from the target's fixtures: precondition, success, effect, concurrency.

They need the task groups the target file lists by status; without them they are "not run (no fixtures)",
never passed. Each pausable group is used by one check only, since a stop consumes it.
"""

from __future__ import annotations

import asyncio
import time

from conformance.checks.base import NotRun
from conformance.checks.context import CheckContext
from conformance.checks.registry import scenario
from conformance.target import PAUSABLE, STATUS_CODES

SETTLED = {3, 6, 7}  # paused, completed (finished meanwhile), pausing


@scenario("precondition", requirements=["STOP-PRECONDITION", "STOP-SUCCESS-200"], needs=["fixtures"])
async def precondition(ctx: CheckContext) -> None:
    """A stop pauses creating and monitoring groups (200) and refuses every other status with 400."""
    project = ctx.target.project
    refused_statuses = [name for name in STATUS_CODES if name not in PAUSABLE and project.groups.get(name)]
    for name in refused_statuses:
        for group in project.groups[name]:
            sent = await ctx.stop(group)
            ctx.expect(
                sent,
                "STOP-PRECONDITION",
                {400},
                f"A stop of a {name} group (status {STATUS_CODES[name]}) was not refused with 400",
                "only creating (1) and monitoring (2) groups can be paused",
            )
    paused_one = False
    for name in sorted(PAUSABLE):
        if not project.groups.get(name):
            continue
        try:
            (group,) = [ctx.pool.take_in(name)]
        except NotRun:
            continue
        sent = await ctx.stop(group)
        paused_one = True
        ctx.expect(
            sent,
            "STOP-SUCCESS-200",
            {200},
            f"A stop of a {name} group did not answer 200",
            f"a {name} group (status {STATUS_CODES[name]}) is pausable",
        )
    if not refused_statuses:
        ctx.note("precondition: no group in a non-pausable status is listed; only the 200 side was checked")
    if not paused_one:
        ctx.note("precondition: no creating/monitoring group was left to check the 200 side")


@scenario("unknown-group", requirements=["STOP-PRECONDITION"])
async def unknown_group(ctx: CheckContext) -> None:
    """A group that does not exist is not creating or monitoring: the stop is refused."""
    for group in (ctx.guard.mint(), ctx.guard.mint() + "-" + "q" * 40):
        sent = await ctx.stop(group)
        ctx.expect(
            sent,
            "STOP-PRECONDITION",
            ctx.expected.unknown_group,
            "A stop of a group that does not exist was not refused",
            "only an existing creating or monitoring group can be paused",
        )


@scenario("neighbour-ids", requirements=["STOP-PRECONDITION"], needs=["fixtures"])
async def neighbour_ids(ctx: CheckContext) -> None:
    """Ids one character longer or shorter than a listed pausable group's are unknown, and pause nothing.

    Catches lookups by prefix (``LIKE 'id%'``) or truncation. Such ids are not UUID-shaped, so on a real
    account they cannot name another group (transport/safety.py).
    """
    (group,) = ctx.pool.take()
    for neighbour, how in ((group + "x", "one character longer"), (group[:-1], "one character shorter")):
        if not neighbour:
            continue
        sent = await ctx.stop(neighbour)
        ctx.expect(
            sent,
            "STOP-PRECONDITION",
            ctx.expected.unknown_group,
            f"A stop of an id {how} than a listed group was not refused",
            "only the group the id names exactly may be paused; this id names none",
        )
    await ctx.still_pausable(group, "STOP-PRECONDITION", "stops of ids that only resemble it")


@scenario("effect", requirements=["STOP-EFFECT"], needs=["fixtures"])
async def effect(ctx: CheckContext) -> None:
    """After a 200 the group is pausing or paused: a second stop is refused, the show operation agrees."""
    (group,) = ctx.pool.take()
    first = await ctx.stop(group)
    if not ctx.expect(first, "STOP-EFFECT", {200}, "The first stop of a pausable group did not succeed"):
        return
    if ctx.contract.has_show_operation:
        deadline = time.monotonic() + ctx.settle_timeout
        while True:
            shown = await ctx.show(group)
            status = shown.result.json_field("status")
            if status in SETTLED or time.monotonic() > deadline or shown.result.status != 200:
                break
            await asyncio.sleep(0.1)
        if status not in SETTLED:
            ctx.fail(
                "STOP-EFFECT",
                "After a 200 the group is not pausing or paused",
                f"Received: status {status!r} (show answered {shown.result.status}) "
                f"within {ctx.settle_timeout:g}s\nExpected: 7 (pausing), 3 (paused) or 6 (completed)",
                shown,
            )
    second = await ctx.stop(group)
    ctx.expect(
        second,
        "STOP-EFFECT",
        {400},
        "A second stop of a just-paused group was not refused",
        "after a 200 the group is pausing or paused, so it is no longer pausable",
    )


@scenario("concurrency", requirements=["STOP-CONCURRENCY"], needs=["fixtures"])
async def concurrency(ctx: CheckContext) -> None:
    """Concurrent stops of one pausable group, released together: exactly one 200, the others 400."""
    (group,) = ctx.pool.take()
    width = ctx.race_width
    answers, spread_ns = await ctx.race_stops(group, width)
    if spread_ns is None:
        how = f"{width} stops sent concurrently (in-process transport: no release spread to measure)"
    else:
        how = f"{width} stops released within {spread_ns / 1e6:.2f} ms"
    ctx.note(f"concurrency: {how}")
    statuses = [a.result.status for a in answers]
    # A throttled stop (429) never reached the group: it took no part in the race. A stop without a complete
    # answer may have paused the group unseen, so it leaves the count open - unless two 200s already show
    # the violation.
    unanswered = [a for a in answers if a.result.outcome.inconclusive]
    answered = [a for a in answers if not a.result.outcome.inconclusive]
    throttled = [a for a in answered if a.result.status == 429]
    decided = [a for a in answered if a.result.status != 429]
    wins = [a for a in decided if a.result.status == 200]
    if len(wins) > 1 or (not wins and decided and not unanswered):
        ctx.fail(
            "STOP-CONCURRENCY",
            f"{len(wins)} of {width} concurrent stops succeeded",
            f"Received: {_histogram(statuses)} ({how})\nExpected: exactly one 200, the others 400",
            wins[0] if wins else decided[0],
        )
    elif unanswered or not decided:
        ctx.recorder.undecided(
            "STOP-CONCURRENCY",
            f"{len(throttled)} throttled and {len(unanswered)} unanswered of {width} concurrent stops "
            f"({_histogram(statuses)})",
        )
    if throttled:
        ctx.note(f"concurrency: {len(throttled)} of {width} stops were throttled (429) and took no part")
    others = [a for a in decided if a.result.status not in (200, 400)]
    if others:
        ctx.fail(
            "STOP-CONCURRENCY",
            "A concurrent stop was neither the winner nor refused",
            f"Received: {_histogram(statuses)} ({how})\nExpected: one 200, the others 400",
            others[0],
        )


def _histogram(statuses: list[int | None]) -> str:
    counts: dict[str, int] = {}
    for status in statuses:
        key = str(status) if status is not None else "no answer"
        counts[key] = counts.get(key, 0) + 1
    return ", ".join(f"{n} x {key}" for key, n in sorted(counts.items()))


@scenario("show-status", requirements=["HW-SHOW-STATUS"], needs=["fixtures", "show"], profiles=["huawei"])
async def show_status(ctx: CheckContext) -> None:
    """The show operation answers {group_id, status} with status 0..9 for every listed group."""
    project = ctx.target.project
    for name, groups in project.groups.items():
        for group in groups[:2]:
            shown = await ctx.show(group)
            if not ctx.expect(shown, "HW-SHOW-STATUS", {200}, f"Showing a listed {name} group failed"):
                continue
            data = shown.result.json
            if (
                not isinstance(data, dict)
                or data.get("group_id") != group
                or data.get("status") not in range(10)
            ):
                ctx.fail(
                    "HW-SHOW-STATUS",
                    "The show answer is not {group_id, status 0..9}",
                    f"Received: {shown.result.body[:120].decode('utf-8', 'replace')!r}\n"
                    f'Expected: {{"group_id": {group!r}, "status": 0..9}}',
                    shown,
                )
            elif data["status"] != STATUS_CODES[name] and name not in PAUSABLE:
                ctx.note(f"show-status: {group} is listed as {name} but shows status {data['status']}")
