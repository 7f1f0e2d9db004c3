"""The rule for status reads that follow a write (machinery/lag.py), on a fake reader and a fake clock: a read
that disagrees is read again with backoff until it agrees (no failure; the lag is reported) or the bound
passes (then the caller has a disagreement, with the reads and time it took)."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence

from conformance.checks.machinery.lag import MAX_WAIT, LagLog, Read, Reading, read_until
from conformance.checks.machinery.pool import FixturePool
from conformance.target import Project

from .test_pace import FakeClock  # time that passes only when the rule sleeps

START = FakeClock().now


def reader(statuses: Sequence[int | None]) -> Read[int]:
    """Answers ``statuses`` in turn (the last one for ever after), each with its read number."""
    reads = 0

    async def read() -> tuple[int | None, int]:
        nonlocal reads
        reads += 1
        return statuses[min(reads, len(statuses)) - 1], reads

    return read


def settle(
    statuses: Sequence[int | None], agrees: set[int], passing: set[int] | None = None, bound: float = 5.0
) -> tuple[Reading[int], FakeClock]:
    clock = FakeClock()
    reading = asyncio.run(
        read_until(
            reader(statuses), agrees, passing=passing or set(), bound=bound, sleep=clock.sleep, clock=clock
        )
    )
    return reading, clock


def test_a_read_that_agrees_at_once_is_read_once() -> None:
    reading, clock = settle([3], {3, 7})
    assert (reading.status, reading.reads, reading.agrees, reading.lagged) == (3, 1, True, False)
    assert clock.slept == [] and reading.lag() == "1 read"


def test_a_read_that_agrees_after_k_reads_is_no_failure_and_the_lag_is_reported() -> None:
    reading, clock = settle([2, 2, 2, 7], {3, 6, 7})
    assert (reading.status, reading.reads, reading.answer) == (7, 4, 4)
    assert reading.agrees and reading.lagged
    assert clock.slept == [0.1, 0.2, 0.4]  # backoff: doubling from 0.1 s
    assert reading.lag() == "4 reads over 0.70s"
    log = LagLog()
    log.observe("effect", "effect: group g after its stop", reading)
    summary, detail = log.notes()
    assert "1 status reads" in summary and "(effect 1; longest 0.70s)" in summary
    assert "not a failure" in summary
    assert detail == "read lag: effect: group g after its stop: agreed after 4 reads over 0.70s"


def test_a_read_that_never_agrees_disagrees_once_the_bound_has_passed() -> None:
    reading, clock = settle([2], {3, 6, 7}, bound=5.0)
    assert reading.status == 2 and not reading.agrees and reading.lagged
    assert clock.now - START == 5.0  # the last read is at the bound, not past it
    assert max(clock.slept) == MAX_WAIT  # the waits are capped
    assert reading.reads == len(clock.slept) + 1 == 9
    assert reading.lag() == "9 reads over 5.00s"
    log = LagLog()
    log.observe("effect", "x", reading)
    assert log.notes() == []  # a disagreement is the caller's finding, not a lag note


def test_a_status_on_the_way_is_read_again_but_is_no_disagreement() -> None:
    moves_on, _ = settle([7, 7, 3], {3, 6}, passing={7})
    assert moves_on.status == 3 and moves_on.agrees and not moves_on.lagged  # 7 then 3: not a lag either
    stays, _ = settle([7], {3, 6}, passing={7}, bound=1.0)
    assert stays.status == 7 and stays.agrees  # still pausing at the bound: not a failure


def test_an_unreadable_status_ends_the_wait_at_once() -> None:
    reading, _ = settle([2, None, 3], {3})
    assert reading.status is None and reading.reads == 2 and not reading.agrees


def test_the_pool_waits_for_a_group_it_was_given_back_to_show_pausable() -> None:
    asked: list[tuple[str, frozenset[int]]] = []

    async def read(group: str, agrees: Collection[int]) -> int:
        asked.append((group, frozenset(agrees)))
        return 2

    pool = FixturePool(Project("p", groups={"monitoring": ("m0", "m1")}), read)
    first = asyncio.run(pool.take())
    pool.note_paused(first)
    pool.give_back(first)
    assert pool.paused == []
    assert asyncio.run(pool.take()) == "m1" and asyncio.run(pool.take()) == first
    fresh, given_back = asked[0][1], asked[2][1]
    assert fresh == frozenset(range(10))  # no write before: read once, as it is
    assert given_back == {1, 2}  # started by this run: read again while it still shows paused


def test_a_read_judged_in_its_turn_has_its_whole_bound_from_its_first_answer() -> None:
    # Two groups read again side by side and judged in turn (machinery/ordered.py), as effect-lasts does
    # on huawei: the first never agrees and uses its whole bound; the second lags one read behind. Its first
    # answer is handed over only once the first group is done - its own bound starts then, so it is read
    # again and agrees, rather than ending on that one stale answer.
    from conformance.checks.machinery.ordered import each_in_order, wait_turn

    clock = FakeClock()
    readings: dict[str, Reading[int]] = {}
    statuses = {"first": [2, 2, 2, 2, 2, 2, 2, 2], "second": [2, 3]}

    async def look(group: str) -> None:
        answers = iter(statuses[group])

        async def read() -> tuple[int | None, int]:
            status = next(answers, statuses[group][-1])
            await asyncio.sleep(0)  # the network: the other group's read goes out meanwhile
            await wait_turn()  # the answer came at once; it is judged in its turn
            return status, 0

        readings[group] = await read_until(read, {3}, bound=2.0, sleep=clock.sleep, clock=clock)

    asyncio.run(each_in_order(["first", "second"], look, 2))
    assert not readings["first"].agrees and readings["first"].seconds >= 2.0
    assert readings["second"].agrees and readings["second"].reads == 2
