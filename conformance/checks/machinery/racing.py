"""The concurrency check's race: stops of one group released together over sockets of their own
(transport/race.py), judged and counted as every other request of the run is (machinery/context.py)."""

from __future__ import annotations

from conformance.checks.machinery.base import Kind, Sent
from conformance.checks.machinery.context import CheckContext
from conformance.checks.machinery.hang_budget import class_of
from conformance.checks.machinery.shapes import ClientShape
from conformance.spec.paths import stop_path
from conformance.spec.statuses import SETTLED
from conformance.transport.race import RaceRequest, race


async def race_stops(
    ctx: CheckContext, group_id: str, width: int, also: tuple[str, ClientShape] | None = None
) -> tuple[list[Sent], Sent | None, int | None]:
    """``width`` stops of one group with the target's credential, released together (transport/race.py)
    - and with ``also``, one stop of another group in that client's shape - and the spread of the
    releases in ns. Each answer passes the response oracles, as :meth:`CheckContext.send`'s do. Returns the
    answers for ``group_id``, the answer for ``also``'s group, and the spread.

    An in-process transport has no sockets to race over: the stops are then merely concurrent, and
    there is no spread to measure (None). Throttled stops (429) are not retried: a retry would not race.
    """
    if ctx.client.in_process:
        calls = [ctx.stop(group_id) for _ in range(width)]
        if also is not None:
            calls.append(ctx.stop(also[0], shape=also[1]))
        async with ctx.in_flight.alone():  # all at once, and nothing else meanwhile
            answers = await ctx.gather(*calls)
        return answers[:width], (answers[width] if also else None), None
    project = ctx.target.project
    path = stop_path(project.project_id, group_id)
    cls = class_of(ctx.target, "PUT", Kind.STOP, path, (), project)
    ctx.may_send(cls)
    # Signed one by one: each AK/SK signature is made as the SDK makes one for a single request.
    requests = [RaceRequest("PUT", path, auth=project) for _ in range(width)]
    if also is not None:
        # Released first (the race releases in list order), so that it reaches the server next to the
        # group's first stop - the one that can win - rather than behind the group's other stops: released
        # last, it arrived after the server had taken in every one of them, and a store that writes back a
        # snapshot taken 2 ms earlier slipped through about one run in five. Next to each other, the two
        # writes overlap whenever the store's read-to-write window is longer than the gap between them.
        other, shape = also
        other_path = stop_path(project.project_id, other)
        requests.insert(0, RaceRequest("PUT", other_path, shape.headers, shape.body, auth=project))
    async with ctx.in_flight.alone():  # the race's stops arrive together, behind no other request
        raced = await race(ctx.client, requests)
    if raced.held_rounds_dropped:
        how = "sent whole, a looser race" if raced.sent_whole else "raced again on new connections"
        ctx.note(
            f"concurrency: the server closed connections held half-sent ({raced.held_rounds_dropped} "
            f"rounds; the tool's doing, not a finding): the stops were {how}"
        )
    answers = []
    for index, (request, result) in enumerate(zip(requests, raced.results, strict=True)):
        group = also[0] if also and index == 0 else group_id
        check = ctx.recorder.check
        sent = Sent("PUT", request.path, Kind.STOP, project.token, result, check, False, str(cls))
        ctx.deliver(sent)
        if result.status == 200:
            ctx.pool.note_paused(group)
            ctx.written[group] = SETTLED
        answers.append(sent)
    await ctx.hangs.observe_all(cls, raced.results)  # after the 200s are known: a dead target raises
    if also is not None:
        return answers[1:], answers[0], raced.spread_ns
    return answers, None, raced.spread_ns
