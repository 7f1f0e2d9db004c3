"""Checks side by side: the checks that name no listed group run in a lane of their own, beside the chain of
checks that share, pause or look again at listed groups.

A remote target spends a run's time in round trips, and most checks send one request after another; the
checks of the two lanes touch nothing of each other's (the no-fixture checks address only ids the run
minted, the keeper's chain only the listed groups), so they overlap, within the run's one bound on requests
in flight (``--concurrency``, machinery/in_flight.py), and effect-lasts' wait overlaps the other lane's work.

What must not depend on the interleaving does not:

- each lane runs its checks one after another in the suite's order (the keeper and the fixture economy,
  lag waits, effect-lasts' hold: checks/machinery/pool.py), with a recorder per attempt and a sender, hang
  budget and minted ids of its own (CheckContext.in_lane) - at any ``--concurrency``, lanes or not - so the
  same seed gives the same verdicts, at 1 as at 8;
- a race (the concurrency check) waits until nothing else is in flight and holds the other lane back;
- results are told, reported and kept in the suite's order (:class:`InOrder`), whichever lane ends first.

With ``--concurrency 1`` there is one lane: the run is as sequential as the option asks.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from conformance.checks.machinery.registry import CheckEntry, CheckKind, GroupUse, Need
from conformance.results import CheckResult

Progress = Callable[[str, CheckResult | None], None]
# The lanes' names, which the ids they mint carry (transport/safety.py): the lane beside the chain mints the
# ids a run minted before there were lanes.
BESIDE = ""
CHAIN = "k"


def alongside(spec: CheckEntry) -> bool:
    """Whether a scenario addresses no listed group at all, so it may run beside the keeper's chain."""
    return spec.groups is GroupUse.NONE and Need.FIXTURES not in spec.needs and not spec.names_listed


def lane_of(spec: CheckEntry) -> str:
    return BESIDE if alongside(spec) else CHAIN


def split(specs: Sequence[CheckEntry], concurrency: int) -> tuple[list[CheckEntry], list[CheckEntry]]:
    """The scenarios as (the chain that settles the keeper, the lane beside it), each in the suite's order;
    with ``concurrency`` 1 the chain is all of them."""
    scenarios = [s for s in specs if s.kind is CheckKind.SCENARIO]
    if concurrency <= 1:
        return scenarios, []
    return [s for s in scenarios if not alongside(s)], [s for s in scenarios if alongside(s)]


async def side_by_side(*lanes: Coroutine[Any, Any, None]) -> None:
    """Run the lanes at once; the first to fail (in lane order, when several have) ends them all."""
    tasks = [asyncio.create_task(lane) for lane in lanes]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in tasks:
            if task.done() and not task.cancelled() and (error := task.exception()) is not None:
                raise error
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class InOrder:
    """Checks that start and end in any order, told to ``progress`` in the suite's: a check is announced
    when every check before it has ended, and its result told when it has ended too."""

    def __init__(self, order: Sequence[str], progress: Progress) -> None:
        self.order = list(order)
        self.progress = progress
        self.results: dict[str, CheckResult] = {}
        self._started: set[str] = set()
        self._told = 0
        self.shown: str | None = None  # the check announced and not yet ended (live progress follows it)

    def started(self, name: str) -> None:
        self._started.add(name)
        self._tell()

    def finished(self, name: str, result: CheckResult) -> None:
        self.results[name] = result
        self._tell()

    def _tell(self) -> None:
        while self._told < len(self.order):
            name = self.order[self._told]
            if name not in self._started:
                return
            if self.shown != name:
                self.shown = name
                self.progress(name, None)
            if name not in self.results:
                return
            self.progress(name, self.results[name])
            self.shown = None
            self._told += 1
