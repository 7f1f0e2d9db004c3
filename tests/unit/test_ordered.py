"""machinery/ordered.py: concurrent sending, delivery in input order, and an exception at the same item as in
a sequential run. The "network" is an asyncio.sleep whose length makes later items finish first."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from conformance.checks.machinery.ordered import each_in_order, wait_turn


class Stop(Exception):
    pass


def _run(items: list[int], concurrency: int, fail_at: int | None = None) -> tuple[list[int], list[int], int]:
    delivered: list[int] = []
    started: list[int] = []
    peak = 0
    in_flight = 0

    async def handle(item: int) -> None:
        nonlocal in_flight, peak
        started.append(item)
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.001 * (len(items) - item))  # later items answer sooner
        in_flight -= 1
        await wait_turn()  # what CheckContext.send does before delivering
        delivered.append(item)
        if item == fail_at:
            raise Stop(item)

    async def main() -> None:
        await each_in_order(items, handle, concurrency)

    with contextlib.suppress(Stop):  # raised on purpose at `fail_at`
        asyncio.run(main())
    return delivered, started, peak


@pytest.mark.parametrize("concurrency", [1, 2, 8, 64])
def test_answers_are_delivered_in_input_order(concurrency: int) -> None:
    delivered, _, peak = _run(list(range(20)), concurrency)
    assert delivered == list(range(20))
    assert peak <= concurrency
    if concurrency > 1:
        assert peak > 1  # they really were in flight together


@pytest.mark.parametrize("concurrency", [1, 8])
def test_an_exception_stops_at_the_same_item_as_a_sequential_run(concurrency: int) -> None:
    delivered, started, _ = _run(list(range(20)), concurrency, fail_at=5)
    assert delivered == [0, 1, 2, 3, 4, 5]  # nothing after the failing item is delivered
    assert max(started) <= 5 + concurrency  # and at most `concurrency` more were sent


def test_items_that_deliver_nothing_still_keep_the_order() -> None:
    delivered: list[int] = []

    async def handle(item: int) -> None:
        await asyncio.sleep(0.001 * (10 - item))
        if item % 2:
            return  # e.g. a case the safety guard skipped
        await wait_turn()
        delivered.append(item)

    asyncio.run(each_in_order(list(range(10)), handle, 4))
    assert delivered == [0, 2, 4, 6, 8]


@pytest.mark.parametrize("concurrency", [1, 4])
def test_items_that_come_as_they_are_made_start_before_the_last_batch_ends_and_deliver_in_order(
    concurrency: int,
) -> None:
    """The fuzz's plans: the next batch's first item goes out while the last batch's last is still out."""
    delivered: list[int] = []
    overlapped: list[bool] = []

    async def main() -> None:
        second_batch_started = asyncio.Event()

        async def batches() -> AsyncIterator[int]:
            for batch in ([0, 1, 2], [3, 4, 5]):
                await asyncio.sleep(0)  # a plan drawn elsewhere
                for item in batch:
                    yield item

        async def handle(item: int) -> None:
            if item == 3:
                second_batch_started.set()
            if item == 2 and concurrency > 1:
                # the last of the first batch answers only once the next batch has begun (bounded: a guard)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(second_batch_started.wait(), 5)
                overlapped.append(second_batch_started.is_set())
            await asyncio.sleep(0.001 * (6 - item))  # later items answer sooner
            await wait_turn()
            delivered.append(item)

        await each_in_order(batches(), handle, concurrency)

    asyncio.run(main())
    assert delivered == [0, 1, 2, 3, 4, 5]
    assert overlapped == ([True] if concurrency > 1 else [])


@pytest.mark.parametrize("concurrency", [1, 4])
def test_an_item_that_cannot_be_made_fails_after_those_before_it(concurrency: int) -> None:
    """The fuzz's next plan failing to draw (a moved seam) ends the batch there, with that error."""
    delivered: list[int] = []

    async def items() -> AsyncIterator[int]:
        yield 0
        yield 1
        raise Stop("no next plan")

    async def handle(item: int) -> None:
        await asyncio.sleep(0.001 * (2 - item))
        await wait_turn()
        delivered.append(item)

    with pytest.raises(Stop, match="no next plan"):
        asyncio.run(asyncio.wait_for(each_in_order(items(), handle, concurrency), 10))  # 10 s: a hang guard
    assert delivered == [0, 1]
