"""The run's one bound on requests in flight (machinery/in_flight.py) and the order checks running side by
side are told in (runner/lanes.py). Events and counts only: nothing here measures time."""

from __future__ import annotations

import asyncio

import pytest

from conformance.checks.machinery.in_flight import InFlight
from conformance.results import CheckResult, Verdict
from conformance.runner.lanes import InOrder


async def _hold(in_flight: InFlight, log: list[str], name: str, release: asyncio.Event) -> None:
    async with in_flight.one():
        log.append(name)
        await release.wait()


def test_the_bound_holds_and_the_preferred_lane_keeps_half_the_slots_and_goes_first() -> None:
    async def main() -> list[str]:
        in_flight, release, go = InFlight(2), asyncio.Event(), asyncio.Event()
        log: list[str] = []

        async def chain() -> None:
            in_flight.prefer()
            await go.wait()
            await _hold(in_flight, log, "chain-0", release)

        async def chain_later() -> None:
            in_flight.prefer()
            await go.wait()
            await asyncio.sleep(0)
            await _hold(in_flight, log, "chain-1", release)

        chains = [asyncio.create_task(chain()), asyncio.create_task(chain_later())]
        await asyncio.sleep(0)
        others = [asyncio.create_task(_hold(in_flight, log, f"other-{n}", release)) for n in range(3)]
        await asyncio.sleep(0)
        assert log == ["other-0"]  # one of the two slots is kept for the chain
        go.set()
        for _ in range(3):
            await asyncio.sleep(0)
        assert log == ["other-0", "chain-0"]  # and the bound holds: chain-1 waits, as do the others
        release.set()
        await asyncio.gather(*others, *chains)
        return log

    # A freed slot goes to the chain's waiting request before the others' that came earlier.
    assert asyncio.run(main())[2:] == ["chain-1", "other-1", "other-2"]


def test_when_the_preferred_lane_ends_every_slot_is_anyones() -> None:
    async def main() -> list[str]:
        in_flight, release = InFlight(2), asyncio.Event()
        log: list[str] = []

        async def chain() -> None:
            in_flight.prefer()

        await asyncio.create_task(chain())  # the chain's lane began (and ends below), in a task of its own
        others = [asyncio.create_task(_hold(in_flight, log, f"other-{n}", release)) for n in range(2)]
        await asyncio.sleep(0)
        assert log == ["other-0"]
        in_flight.done_preferring()
        await asyncio.sleep(0)
        assert log == ["other-0", "other-1"]
        release.set()
        await asyncio.gather(*others)
        return log

    asyncio.run(main())


def test_the_slot_kept_for_the_preferred_lane_is_lent_while_it_waits_and_kept_again_after() -> None:
    async def main() -> list[str]:
        in_flight, release = InFlight(2), asyncio.Event()
        log: list[str] = []
        waiting, waited = asyncio.Event(), asyncio.Event()

        async def chain() -> None:
            in_flight.prefer()
            async with in_flight.idle():  # effect-lasts' hold: nothing to send
                waiting.set()
                await waited.wait()
            await _hold(in_flight, log, "chain", release)

        lane = asyncio.create_task(chain())
        others = [asyncio.create_task(_hold(in_flight, log, f"other-{n}", release)) for n in range(3)]
        await waiting.wait()
        await asyncio.sleep(0)
        assert log == ["other-0", "other-1"]  # both slots: the kept one is lent while the chain waits
        waited.set()
        await asyncio.sleep(0)
        assert log == ["other-0", "other-1"]  # the bound holds: the chain's request waits for a slot ...
        release.set()
        await asyncio.gather(lane, *others)
        return log

    # ... and takes the first that frees, before the other lane's request that waited longer.
    assert asyncio.run(main())[2:] == ["chain", "other-2"]


def test_waiting_outside_the_preferred_lane_lends_nothing() -> None:
    async def main() -> list[str]:
        in_flight, release = InFlight(2), asyncio.Event()
        log: list[str] = []
        started = asyncio.Event()

        async def chain() -> None:
            in_flight.prefer()
            started.set()
            await release.wait()

        lane = asyncio.create_task(chain())
        await started.wait()
        async with in_flight.idle():  # the other lane waiting: the chain's slot stays kept
            others = [asyncio.create_task(_hold(in_flight, log, f"other-{n}", release)) for n in range(2)]
            await asyncio.sleep(0)
            assert log == ["other-0"]
        release.set()
        in_flight.done_preferring()
        await asyncio.gather(lane, *others)
        return log

    assert asyncio.run(main()) == ["other-0", "other-1"]


def test_alone_waits_for_what_is_in_flight_and_holds_the_rest_back() -> None:
    async def main() -> list[str]:
        in_flight, log = InFlight(3), list[str]()
        first_done = asyncio.Event()

        async def first() -> None:
            async with in_flight.one():
                log.append("first")
                await first_done.wait()
                log.append("first ends")

        async def race() -> None:
            async with in_flight.alone():
                log.append("race")
                # The race's own requests are not bounded: more than the limit go at once.
                async with in_flight.one(), in_flight.one(), in_flight.one(), in_flight.one():
                    log.append("race sends")

        a = asyncio.create_task(first())
        await asyncio.sleep(0)
        b = asyncio.create_task(race())
        await asyncio.sleep(0)
        c = asyncio.create_task(_hold(in_flight, log, "after", asyncio.Event()))
        await asyncio.sleep(0)
        assert log == ["first"]  # the race waits for the request in flight, and the later one waits too
        first_done.set()
        await asyncio.gather(a, b)
        await asyncio.sleep(0)
        c.cancel()
        return log

    assert asyncio.run(main()) == ["first", "first ends", "race", "race sends", "after"]


@pytest.mark.parametrize("handed", [False, True])
def test_a_cancelled_waiter_loses_no_slot(handed: bool) -> None:
    async def main() -> int:
        in_flight, release = InFlight(1), asyncio.Event()
        log: list[str] = []
        holder = asyncio.create_task(_hold(in_flight, log, "holder", release))
        await asyncio.sleep(0)
        waiter = asyncio.create_task(_hold(in_flight, log, "waiter", asyncio.Event()))
        await asyncio.sleep(0)
        if handed:
            release.set()  # the slot is handed to the waiter ...
            await holder
        waiter.cancel()  # ... or not yet, when it is cancelled
        await asyncio.gather(waiter, return_exceptions=True)
        release.set()
        await holder
        after: list[str] = []
        await asyncio.wait_for(_hold(in_flight, after, "next", _set(asyncio.Event())), 5)
        return len(after)

    assert asyncio.run(main()) == 1


def _set(event: asyncio.Event) -> asyncio.Event:
    event.set()
    return event


def _result(name: str) -> CheckResult:
    return CheckResult(name, (), "", Verdict.PASS)


def test_checks_that_end_out_of_order_are_told_in_the_suites() -> None:
    told: list[tuple[str, str]] = []
    order = InOrder(["a", "b", "c"], lambda name, result: told.append((name, "end" if result else "start")))
    order.started("a")
    order.started("c")  # the other lane's first check
    order.finished("c", _result("c"))
    assert told == [("a", "start")] and order.shown == "a"
    order.finished("a", _result("a"))
    order.started("b")
    assert told[-2:] == [("a", "end"), ("b", "start")]
    order.finished("b", _result("b"))
    assert told[-3:] == [("b", "end"), ("c", "start"), ("c", "end")] and order.shown is None
